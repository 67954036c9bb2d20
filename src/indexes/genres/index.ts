import { shipped } from '../shipped.js';
import type { IndexSpec } from '../spec.js';
import type { GenreDocument } from './document.js';
import { GENRE_PAGE_SQL } from './query.js';

/** One document per genre: {id, name, description}; capture triggers in migration 004. */
export const genresIndex: IndexSpec<GenreDocument> = {
  name: 'genres',
  noun: 'genre',
  queue: { table: 'genre_change', idColumn: 'genre_id', rejectedTable: 'genre_rejected' },
  pageSql: GENRE_PAGE_SQL,
  schemaPath: shipped('genres.schema.json'),
  mappings: { default: shipped('genres.json'), nostem: shipped('genres.nostem.json') },
  searchFields: ['name^2', 'description'],
  allIdsSql: 'SELECT id FROM content.genre',
};
