import type { PersonFilm, PersonRow } from './query.js';

/** A person document, as mappings/persons.schema.json describes it. */
export interface PersonDocument {
  id: string;
  full_name: string;
  films: PersonFilm[];
}

export function toDocument(row: PersonRow): PersonDocument {
  return { id: row.id, full_name: row.full_name ?? '', films: row.films };
}
