import { shipped } from '../shipped.js';
import type { ChangeQueue, IndexSpec } from '../spec.js';
import type { MovieDocument } from './document.js';
import { FILM_DOCUMENT } from './query.js';
import { pendingPageSql } from '../document-sql.js';

const queue: ChangeQueue = { table: 'film_work_change', idColumn: 'film_work_id', rejectedTable: 'film_work_rejected' };

/** The film index: one document per film work, with its genres and people. */
export const filmsIndex: IndexSpec<MovieDocument> = {
  name: 'movies',
  noun: 'film',
  queue,
  document: FILM_DOCUMENT,
  pageSql: pendingPageSql(queue, FILM_DOCUMENT),
  schemaPath: shipped('movies.schema.json'),
  mappings: { default: shipped('movies.json'), nostem: shipped('movies.nostem.json') },
  searchFields: ['title^3', 'description', 'director^2', 'actors_names', 'writers_names', 'genre'],
  allIdsSql: 'SELECT id FROM content.film_work',
};
