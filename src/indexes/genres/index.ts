import { shipped } from '../shipped.js';
import type { ChangeQueue, IndexSpec } from '../spec.js';
import type { GenreDocument } from './document.js';
import { GENRE_DOCUMENT } from './query.js';
import { pendingPageSql } from '../document-sql.js';

const queue: ChangeQueue = { table: 'genre_change', idColumn: 'genre_id', rejectedTable: 'genre_rejected' };

/** One document per genre: {id, name, description}; capture triggers in migration 004. */
export const genresIndex: IndexSpec<GenreDocument> = {
  name: 'genres',
  noun: 'genre',
  queue,
  document: GENRE_DOCUMENT,
  pageSql: pendingPageSql(queue, GENRE_DOCUMENT),
  schemaPath: shipped('genres.schema.json'),
  mappings: { default: shipped('genres.json'), nostem: shipped('genres.nostem.json') },
  searchFields: ['name^2', 'description'],
  allIdsSql: 'SELECT id FROM content.genre',
};
