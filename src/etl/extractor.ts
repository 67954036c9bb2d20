import type { Db } from '../db/knex.js';
import type { ChangeQueue, IndexSpec, PendingRow } from '../indexes/spec.js';
import { KEYED_JOINS } from '../db/queue.js';

export interface Batch {
  rows: PendingRow[];
  lastVersion: number;
}

/*
 * Pages are keyset ranges of version in an index's change queue, bounded by the watermark
 * taken at run start, so rows changed during the run wait for the next run instead of being
 * chased forever. Each index's page query (IndexSpec.pageSql) reads a range and builds its
 * documents from the same snapshot.
 *
 * A page is the range (after, last]: `last` comes first from a cheap index-only query over
 * the version index (pageEnd), so the next ranges are known before the current page's
 * documents are built, and several pages can be built at once on separate connections.
 * A row that commits later with a version inside an already-read range is simply left
 * pending for the next run, as with any keyset page.
 */
const endSql = (q: ChangeQueue) => `
SELECT max(version) AS last FROM (
  SELECT version FROM movies.${q.table}
  WHERE target_id = :target AND version > :after AND version <= :upTo
  ORDER BY version
  LIMIT :limit
) s`;

/** The run's watermark (highest pending version, 0 when none) and how many documents it covers, for one target. */
export async function pendingWatermark(db: Db, q: ChangeQueue, target: number): Promise<{ upTo: number; pending: number }> {
  const r = await db.raw<{ rows: Array<{ up_to: number; pending: number }> }>(
    `SELECT coalesce(max(version), 0) AS up_to, count(*)::int AS pending FROM movies.${q.table} WHERE target_id = ?`,
    [target],
  );
  return { upTo: r.rows[0]?.up_to ?? 0, pending: r.rows[0]?.pending ?? 0 };
}

/*
 * The page end must be an ordered walk of the version index that stops after `limit` rows.
 * With no statistics for the target's rows (a queue just filled, autovacuum off), the planner
 * expects a handful, and read all of them in a bitmap scan to sort them instead: measured 33-47
 * ms per page with 100k pending (O(pending) per page), against 0.3 ms for the index walk. With
 * sorting priced out for this statement, the index order is the only plan left.
 */
const ORDERED_BY_INDEX = `SELECT set_config('enable_sort', 'off', true)`;

/** The last version of the page after `after` (at most `limit` rows), or undefined when none is left. */
export async function pageEnd(
  db: Db,
  q: ChangeQueue,
  target: number,
  after: number,
  upTo: number,
  limit: number,
): Promise<number | undefined> {
  return db.transaction(
    async (trx) => {
      await trx.raw(ORDERED_BY_INDEX);
      const r = await trx.raw<{ rows: Array<{ last: number | null }> }>(endSql(q), { target, after, upTo, limit });
      return r.rows[0]?.last ?? undefined;
    },
    { readOnly: true },
  );
}

/*
 * The page costs well above jit_above_cost once the catalogue is large, yet it is a few
 * thousand index lookups: JIT compilation took longer than the query itself (measured
 * 40–550 ms per page against ~200 ms without). It is switched off for this statement only,
 * and so are hash and merge joins (KEYED_JOINS): without statistics the planner hashed the
 * whole person table for each film page.
 */
export async function readRange(
  db: Db,
  spec: Pick<IndexSpec, 'pageSql'>,
  target: number,
  after: number,
  last: number,
): Promise<PendingRow[]> {
  return db.transaction(
    async (trx) => {
      await trx.raw('SET LOCAL jit = off');
      await trx.raw(KEYED_JOINS);
      const r = await trx.raw<{ rows: PendingRow[] }>(spec.pageSql, { target, after, last });
      return r.rows;
    },
    { readOnly: true },
  );
}

/** One page of at most `limit` pending documents after `after`, up to the watermark. */
export async function readPage(
  db: Db,
  spec: Pick<IndexSpec, 'pageSql' | 'queue'>,
  target: number,
  after: number,
  upTo: number,
  limit: number,
): Promise<PendingRow[]> {
  const last = await pageEnd(db, spec.queue, target, after, upTo, limit);
  return last === undefined ? [] : readRange(db, spec, target, after, last);
}

export interface PageSource {
  /** Last version of the next page after `after`, or undefined at the end. */
  end(after: number): Promise<number | undefined>;
  /** The documents of the range (after, last]. */
  read(after: number, last: number): Promise<PendingRow[]>;
}

/**
 * Yields pages of pending documents in version order (keyset, never OFFSET). Up to `readAhead`
 * pages are being built while the caller works on the current one, so memory stays bounded
 * by (readAhead + 1) pages whatever the catalogue's size.
 */
export async function* pages(source: PageSource, readAhead = 1): AsyncGenerator<Batch> {
  const queue: Array<Promise<PendingRow[]>> = [];
  let after = 0;
  let done = false;
  const fill = async () => {
    while (!done && queue.length < readAhead + 1) {
      const last = await source.end(after);
      if (last === undefined) {
        done = true;
        break;
      }
      const p = source.read(after, last);
      // Without a handler, a failing read-ahead while the consumer is busy would be "unhandled".
      p.catch(() => undefined);
      queue.push(p);
      after = last;
    }
  };
  await fill();
  while (queue.length > 0) {
    const rows = await queue.shift()!;
    // Ranges come from pageEnd; a range emptied meanwhile (films marked by nobody else) is skipped.
    const filling = fill();
    filling.catch(() => undefined);
    if (rows.length > 0) yield { rows, lastVersion: rows[rows.length - 1]!.version };
    await filling;
  }
}
