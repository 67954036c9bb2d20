import type { Db } from '../db/knex.js';

export type Job = 'actor' | 'director' | 'writer';

/** One pending film as read from the change table, with everything its document needs. */
export interface FilmRow {
  film_work_id: string;
  version: number;
  /** False when the film no longer exists: its document must be deleted. */
  present: boolean;
  title: string | null;
  description: string | null;
  imdb_rating: number | null;
  genres: string[];
  people: Array<{ id: string; name: string; job: Job }>;
}

export interface Batch {
  rows: FilmRow[];
  lastVersion: number;
}

/*
 * One statement reads a page of pending (id, version) pairs and builds the full documents
 * from the same snapshot, aggregating all genres and people of each film (never only the
 * changed ones). Pages are keyset on version, bounded by the watermark taken at run start,
 * so rows changed during the run wait for the next run instead of being chased forever.
 */
const PAGE_SQL = `
WITH page AS (
  SELECT film_work_id, version FROM content.film_work_change
  WHERE version > :after AND version <= :upTo
  ORDER BY version
  LIMIT :limit
)
SELECT page.film_work_id, page.version, fw.id IS NOT NULL AS present,
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

export async function pendingWatermark(db: Db): Promise<number> {
  const r = await db.raw<{ rows: Array<{ max: number | null }> }>(
    'SELECT max(version) AS max FROM content.film_work_change',
  );
  return r.rows[0]?.max ?? 0;
}

export async function readPage(db: Db, after: number, upTo: number, limit: number): Promise<FilmRow[]> {
  const r = await db.raw<{ rows: FilmRow[] }>(PAGE_SQL, { after, upTo, limit });
  return r.rows;
}

/**
 * Yields pages of pending films in version order; the next page is fetched while the caller
 * works on the current one. `read` gets the last version seen (keyset, never OFFSET).
 */
export async function* pages(read: (after: number) => Promise<FilmRow[]>, batchSize: number): AsyncGenerator<Batch> {
  let next: Promise<FilmRow[]> | undefined = read(0);
  while (next) {
    const rows: FilmRow[] = await next;
    if (rows.length === 0) return;
    const lastVersion = rows[rows.length - 1]!.version;
    next = rows.length < batchSize ? undefined : read(lastVersion);
    // Without a handler, a failing prefetch while the consumer is busy would be "unhandled".
    next?.catch(() => undefined);
    yield { rows, lastVersion };
  }
}
