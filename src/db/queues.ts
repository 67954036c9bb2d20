/*
 * movies' queues, one per index: capture writes (target, document id) rows with a fresh version;
 * start-etl reads them and deletes a row only if its version is still the one it read.
 */
export const QUEUES = [
  { index: 'movies', table: 'film_work_change', id: 'film_work_id' },
  { index: 'genres', table: 'genre_change', id: 'genre_id' },
  { index: 'persons', table: 'person_change', id: 'person_id' },
] as const;

export type Queue = (typeof QUEUES)[number];
