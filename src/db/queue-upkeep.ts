import type { Db } from './knex.js';

/** Below this many pending documents a run is short whatever the plan; no ANALYZE is worth it. */
const ANALYZE_MIN_PENDING = 10_000;

/*
 * A queue that has just grown by many rows (init-es making every document pending for a new
 * target, a bulk UPDATE) has statistics that do not know them. The planner then estimates a
 * handful of rows for the target and, on every page, reads all of the target's pending rows:
 * a bitmap scan and a top-N sort to find the page's end, a hash of the whole target to mark
 * it. That is O(pending) per page and O(pending²) per run. Measured at 100k films right
 * after init-es's enqueue: the page end took 23 ms instead of 0.24 ms, and marking a page
 * hashed 57,000 rows to find 500; PostgreSQL spent 6.8 CPU-s of 15.3 on those two statements.
 *
 * So a big run first asks the planner how many rows it expects for the target, and runs
 * ANALYZE on the queue when the answer is far below what is pending (20–90 ms measured at
 * 100k rows; ANALYZE samples a fixed number of rows). Without the rights to analyze (not the
 * table's owner), PostgreSQL only warns and the run goes on with the plans it has.
 */
export async function analyzeIfBlind(db: Db, table: string, target: number, pending: number): Promise<boolean> {
  if (pending < ANALYZE_MIN_PENDING) return false;
  const r = await db.raw<{ rows: Array<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }> }>(
    `EXPLAIN (FORMAT JSON) SELECT 1 FROM movies.${table} WHERE target_id = ?`,
    [target],
  );
  const estimated = r.rows[0]?.['QUERY PLAN'][0]?.Plan['Plan Rows'] ?? 0;
  if (estimated >= pending / 4) return false;
  await db.raw(`ANALYZE movies.${table}`);
  return true;
}

/*
 * A big run leaves as many dead rows in the change table as it marked. Until they are
 * vacuumed, every later run's watermark query walks them in the version index (measured on
 * 1M films: 0.2–0.8 s for a run with nothing to do, against a few ms after VACUUM).
 * Autovacuum gets there eventually; a big run does it at once. Without the rights to vacuum
 * (not the table's owner), PostgreSQL only warns and this is a no-op.
 */
export async function vacuumQueue(db: Db, table: string, log?: (m: string) => void): Promise<void> {
  try {
    await db.raw(`VACUUM movies.${table}`);
  } catch (err) {
    log?.(`could not vacuum movies.${table}: ${(err as Error).message}`);
  }
}
