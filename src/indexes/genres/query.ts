import type { DocumentSql } from '../spec.js';

/*
 * A genre's document is its own row, joined by primary key: cost proportional to the page. The
 * document (mappings/genres.schema.json, GenreDocument) is built as JSON text; a gone genre has none.
 */
export const GENRE_DOCUMENT: DocumentSql = {
  expr: `CASE WHEN g.id IS NOT NULL THEN
         json_build_object('id', g.id, 'name', g.genre, 'description', g.description)::text END`,
  joins: 'LEFT JOIN content.genre g ON g.id = page.id',
};
