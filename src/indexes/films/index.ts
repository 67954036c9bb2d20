import { shipped } from '../shipped.js';
import type { ChangeQueue, IndexDefinition } from '../spec.js';
import type { MovieDocument } from './document.js';
import { FILM_DOCUMENT } from './query.js';
import { pendingPageSql } from '../document-sql.js';

const queue: ChangeQueue = { table: 'film_work_change', idColumn: 'film_work_id', rejectedTable: 'film_work_rejected' };

/** The film index: one document per film work, with its genres and people. */
export const filmsIndex: IndexDefinition<MovieDocument> = {
  name: 'movies',
  noun: 'film',
  queue,
  sql: (n) => ({
    document: FILM_DOCUMENT(n),
    pageSql: pendingPageSql(queue, FILM_DOCUMENT(n)),
    allIdsSql: `SELECT ${n.c.film_work.id} FROM ${n.t.film_work}`,
  }),
  schemaPath: shipped('movies.schema.json'),
  mappings: { default: shipped('movies.json'), nostem: shipped('movies.nostem.json') },
  searchFields: ['title^3', 'description', 'director^2', 'actors_names', 'writers_names', 'genre'],
};
