/*
 * movies' queues, one per index: capture writes (target, document id) rows with a fresh version;
 * start-etl reads them and deletes a row only if its version is still the one it read.
 */
export const QUEUES = [
  { index: 'movies', table: 'film_work_change', id: 'film_work_id', fn: 'enqueue_film_works' },
  { index: 'genres', table: 'genre_change', id: 'genre_id', fn: 'enqueue_genres' },
  { index: 'persons', table: 'person_change', id: 'person_id', fn: 'enqueue_persons' },
] as const;

export type Queue = (typeof QUEUES)[number];

/** The channel the capture functions notify while a watch keeps a target of the index. */
export const CHANNEL = 'movies_changes';
