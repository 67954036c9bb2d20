/** A film document, as mappings/movies.schema.json describes it. */
export interface PersonRef {
  id: string;
  name: string;
}

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
