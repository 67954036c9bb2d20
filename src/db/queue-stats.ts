import type { Db } from './knex.js';
import type { ChangeQueue } from '../indexes/spec.js';

/** What one target of an index has waiting for it in the index's queue. */
export interface TargetQueue {
  target: number;
  state: 'live' | 'building' | 'kept';
  /** The cluster and alias the target belongs to (null for an earlier version's unclaimed one). */
  cluster: string | null;
  alias: string | null;
  /** Rows pending for this target: documents to index or delete. */
  rows: number;
  /** Age of its oldest pending change in seconds, by the database's clock; 0 when none is pending. */
  oldestChangeSeconds: number;
}

/**
 * Queue rows and oldest change of every target of one index (any cluster, any state), in one
 * statement. The oldest change is the row with the lowest version, read through the queue's
 * (target_id, version) index: one index entry, not a scan. Versions come from the queue's
 * sequence and each row's changed_at is set with its version, so the lowest version is the
 * change queued first. The count reads one target's index entries, at most one per document
 * (the primary key is (target_id, document id)), so it is bounded by the catalogue's size.
 */
export async function targetQueues(db: Db, q: ChangeQueue, indexName: string): Promise<TargetQueue[]> {
  type Row = { id: number; state: TargetQueue['state']; cluster: string | null; alias: string | null; n: number; oldest: number | null };
  const rows = (await db.raw<{ rows: Row[] }>(targetQueuesSql(q), [indexName])).rows;
  return rows.map((r) => ({ target: Number(r.id), state: r.state, cluster: r.cluster, alias: r.alias, rows: r.n, oldestChangeSeconds: Math.max(0, r.oldest ?? 0) }));
}

/** The statement, with one binding (the index name); exported so a test can read its plan. */
export const targetQueuesSql = (q: ChangeQueue) => `
SELECT t.id, t.state, t.cluster, t.alias,
       (SELECT count(*)::int FROM movies.${q.table} c WHERE c.target_id = t.id) AS n,
       (SELECT extract(epoch FROM clock_timestamp() - c.changed_at)::float8 FROM movies.${q.table} c
         WHERE c.target_id = t.id ORDER BY c.version LIMIT 1) AS oldest
FROM movies.etl_target t WHERE t.index_name = ? ORDER BY t.id`;
