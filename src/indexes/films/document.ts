/** A person in a film document. */
export interface PersonRef {
  id: string;
  name: string;
}

/**
 * A film document, as mappings/movies.schema.json describes it. PostgreSQL builds it
 * (FILMS_PAGE_SQL in query.ts); this is the shape of that JSON.
 */
export interface MovieDocument {
  id: string;
  imdb_rating: number | null;
  genre: string[];
  title: string;
  description: string;
  director: string[];
  actors_names: string[];
  writers_names: string[];
  actors: PersonRef[];
  writers: PersonRef[];
}
