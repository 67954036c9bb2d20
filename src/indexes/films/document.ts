import type { FilmRow, Job } from './query.js';

/** A film document, as mappings/movies.schema.json describes it. */
export interface PersonRef {
  id: string;
  name: string;
}

export interface MovieDocument {
  id: string;
  imdb_rating: number | null;
  genre: string[];
  title: string;
  description: string;
  director: string[];
  actors_names: string[];
  writers_names: string[];
  actors: PersonRef[];
  writers: PersonRef[];
}

export function toDocument(row: FilmRow): MovieDocument {
  const byJob = (job: Job): PersonRef[] =>
    row.people.filter((p) => p.job === job).map((p) => ({ id: p.id, name: p.name }));
  const actors = byJob('actor');
  const writers = byJob('writer');
  return {
    id: row.id,
    imdb_rating: row.imdb_rating,
    genre: row.genres,
    title: row.title ?? '',
    description: row.description ?? '',
    director: byJob('director').map((p) => p.name),
    actors_names: actors.map((p) => p.name),
    writers_names: writers.map((p) => p.name),
    actors,
    writers,
  };
}
