import type { Names } from '../../catalogue/names.js';
import type { DocumentSql } from '../spec.js';

/*
 * A genre's document is its own row, joined by primary key: cost proportional to the page. The
 * document (mappings/genres.schema.json, GenreDocument) is built as JSON text; a gone genre has none.
 */
export const GENRE_DOCUMENT = ({ t, c, text }: Names): DocumentSql => ({
  expr: `CASE WHEN g.id IS NOT NULL THEN
         json_build_object('id', g.${c.genre.id}, 'name', g.${c.genre.genre}, 'description', ${text('genre', 'description', 'g')})::text END`,
  joins: `LEFT JOIN ${t.genre} g ON g.${c.genre.id} = page.id`,
});
