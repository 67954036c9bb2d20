/*
 * A genre's document is its own row, so the page is the queue range joined to content.genre
 * by primary key: one statement, one snapshot, cost proportional to the page. The document
 * (mappings/genres.schema.json, GenreDocument) is built as JSON text; a gone genre has none.
 */
export const GENRE_PAGE_SQL = `
WITH page AS (
  SELECT genre_id, version FROM content.genre_change
  WHERE target_id = :target AND version > :after AND version <= :last
)
SELECT page.genre_id AS id, page.version,
       CASE WHEN g.id IS NOT NULL THEN
         json_build_object('id', g.id, 'name', g.genre, 'description', g.description)::text END AS doc
FROM page
LEFT JOIN content.genre g ON g.id = page.genre_id
ORDER BY page.version`;
