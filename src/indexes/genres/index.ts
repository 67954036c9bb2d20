import { fileURLToPath } from 'node:url';
import type { IndexSpec } from '../spec.js';
import { toDocument, type GenreDocument } from './document.js';
import { GENRE_PAGE_SQL, type GenreRow } from './query.js';

// src/indexes/genres/ and dist/indexes/genres/ are both three levels below the package root.
const mapping = (file: string) => fileURLToPath(new URL(`../../../mappings/${file}`, import.meta.url));

/** One document per genre: {id, name, description}; capture triggers in migration 004. */
export const genresIndex: IndexSpec<GenreRow, GenreDocument> = {
  name: 'genres',
  queue: { table: 'genre_change', idColumn: 'genre_id', rejectedTable: 'genre_rejected' },
  pageSql: GENRE_PAGE_SQL,
  toDocument,
  schemaPath: mapping('genres.schema.json'),
  mappings: { default: mapping('genres.json'), nostem: mapping('genres.nostem.json') },
  searchFields: ['name^2', 'description'],
  allIdsSql: 'SELECT id FROM content.genre',
};
