import type { GenreRow } from './query.js';

/** A genre document, as mappings/genres.schema.json describes it. */
export interface GenreDocument {
  id: string;
  name: string;
  description: string;
}

export function toDocument(row: GenreRow): GenreDocument {
  return { id: row.id, name: row.name ?? '', description: row.description ?? '' };
}
