import { shipped } from '../shipped.js';
import type { ChangeQueue, IndexDefinition } from '../spec.js';
import type { GenreDocument } from './document.js';
import { GENRE_DOCUMENT } from './query.js';
import { pendingPageSql } from '../document-sql.js';

const queue: ChangeQueue = { table: 'genre_change', idColumn: 'genre_id', rejectedTable: 'genre_rejected' };

/** One document per genre: {id, name, description}; capture triggers in migration 004. */
export const genresIndex: IndexDefinition<GenreDocument> = {
  name: 'genres',
  noun: 'genre',
  queue,
  sql: (n) => ({
    document: GENRE_DOCUMENT(n),
    pageSql: pendingPageSql(queue, GENRE_DOCUMENT(n)),
    allIdsSql: `SELECT ${n.c.genre.id} FROM ${n.t.genre}`,
  }),
  schemaPath: shipped('genres.schema.json'),
  mappings: { default: shipped('genres.json'), nostem: shipped('genres.nostem.json') },
  searchFields: ['name^2', 'description'],
};
