import { shipped } from '../shipped.js';
import type { IndexSpec } from '../spec.js';
import type { MovieDocument } from './document.js';
import { FILMS_PAGE_SQL } from './query.js';

/** The film index: one document per film work, with its genres and people. */
export const filmsIndex: IndexSpec<MovieDocument> = {
  name: 'movies',
  noun: 'film',
  queue: { table: 'film_work_change', idColumn: 'film_work_id', rejectedTable: 'film_work_rejected' },
  pageSql: FILMS_PAGE_SQL,
  schemaPath: shipped('movies.schema.json'),
  mappings: { default: shipped('movies.json'), nostem: shipped('movies.nostem.json') },
  searchFields: ['title^3', 'description', 'director^2', 'actors_names', 'writers_names', 'genre'],
  allIdsSql: 'SELECT id FROM content.film_work',
};
