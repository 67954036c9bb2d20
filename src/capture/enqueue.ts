import { own } from '../catalogue/names.js';
import { QUEUES, type Queue } from '../db/queues.js';

/**
 * The statement that makes documents pending: each id of `ids` (a query of one uuid column)
 * once per target of the index, sorted (concurrent writers then lock queue rows in one order),
 * with a fresh version. The capture triggers run it inside their own plpgsql functions, whose
 * plans PostgreSQL keeps for the session; earlier versions handed the ids to a LANGUAGE sql
 * function, which PostgreSQL 15 plans again at every call (BENCHMARKS.md, bench:capture-cost).
 * loaddata's fast path runs it too (src/django/fast-upsert.ts).
 *
 * No NOTIFY: PostgreSQL serialises the commits of every notifying transaction on one lock, so
 * a watch looks at the queues instead (src/watch/poller.ts).
 */
export function enqueueSql(index: Queue['index'], ids: string): string {
  const queue = QUEUES.find((x) => x.index === index)!;
  return `INSERT INTO ${own(queue.table)} AS c (target_id, ${queue.id})
      SELECT t.id, d.id
      FROM ${own('etl_target')} t
      CROSS JOIN (SELECT DISTINCT id FROM (${ids}) AS u(id) WHERE id IS NOT NULL) d
      WHERE t.index_name = '${queue.index}'
      ORDER BY 1, 2
      ON CONFLICT (target_id, ${queue.id}) DO UPDATE
        SET version = excluded.version, changed_at = excluded.changed_at`;
}
