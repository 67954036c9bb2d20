export type Role = 'actor' | 'director' | 'writer';

/** One film of a person: the distinct jobs they have in it, sorted. */
export interface PersonFilm {
  id: string;
  roles: Role[];
}

/** A person document, as mappings/persons.schema.json describes it (built by PERSON_PAGE_SQL). */
export interface PersonDocument {
  id: string;
  full_name: string;
  films: PersonFilm[];
}
