import type { PendingRow } from '../spec.js';

/** One pending genre as the page query returns it. */
export interface GenreRow extends PendingRow {
  /** Null when the genre is gone (present is false). */
  name: string | null;
  description: string | null;
}

/*
 * A genre's document is its own row, so the page is the queue range joined to content.genre
 * by primary key: one statement, one snapshot, cost proportional to the page.
 */
export const GENRE_PAGE_SQL = `
WITH page AS (
  SELECT genre_id, version FROM content.genre_change
  WHERE target_id = :target AND version > :after AND version <= :last
)
SELECT page.genre_id AS id, page.version, g.id IS NOT NULL AS present,
       g.genre AS name, g.description
FROM page
LEFT JOIN content.genre g ON g.id = page.genre_id
ORDER BY page.version`;
