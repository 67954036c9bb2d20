/** A genre document, as mappings/genres.schema.json describes it (built by GENRE_PAGE_SQL). */
export interface GenreDocument {
  id: string;
  name: string;
  description: string;
}
