import type { PendingRow } from '../spec.js';

export type Job = 'actor' | 'director' | 'writer';

/** One pending film as the page query returns it, with everything its document needs. */
export interface FilmRow extends PendingRow {
  title: string | null;
  description: string | null;
  imdb_rating: number | null;
  genres: string[];
  people: Array<{ id: string; name: string; job: Job }>;
}

/*
 * One statement reads a page of pending (id, version) pairs and builds the full documents
 * from the same snapshot, aggregating all genres and people of each film (never only the
 * changed ones). A film whose row is gone comes back with present = false: a delete.
 */
export const FILMS_PAGE_SQL = `
WITH page AS (
  SELECT film_work_id, version FROM content.film_work_change
  WHERE target_id = :target AND version > :after AND version <= :last
)
SELECT page.film_work_id AS id, page.version, fw.id IS NOT NULL AS present,
       fw.title, fw.description, fw.imdb_rating,
       COALESCE(g.genres, '{}') AS genres,
       COALESCE(p.people, '[]') AS people
FROM page
LEFT JOIN content.film_work fw ON fw.id = page.film_work_id
LEFT JOIN LATERAL (
  SELECT array_agg(DISTINCT gn.genre ORDER BY gn.genre) AS genres
  FROM content.film_work_genre fwg JOIN content.genre gn ON gn.id = fwg.genre_id
  WHERE fwg.film_work_id = fw.id
) g ON true
LEFT JOIN LATERAL (
  SELECT json_agg(json_build_object('id', x.id, 'name', x.name, 'job', x.job)
                  ORDER BY x.job, x.name, x.id) AS people
  FROM (SELECT DISTINCT pr.id, pr.name, fwp.job
        FROM content.film_work_person fwp JOIN content.person pr ON pr.id = fwp.person_id
        WHERE fwp.film_work_id = fw.id) x
) p ON true
ORDER BY page.version`;
