import type { Db } from './knex.js';
import type { ChangeQueue } from '../indexes/spec.js';

/** One target's queue to look at: the index's queue and the target's id. */
export interface QueueOfTarget {
  queue: ChangeQueue;
  target: number;
}

/*
 * What a target's committed queue rows are, in a few numbers: their count, highest version and a
 * sum of their versions' hashes. Any committed change moves it: a new row adds one, a row a
 * writer queued again takes a fresh version (versions come from a sequence, never reused), a
 * row start-etl marked leaves. A row a writer has re-queued but not committed keeps its old
 * version to every other session, so the fingerprint moves when the writer commits, not before.
 *
 * The max alone would miss a transaction that took its version early and committed after a
 * later one (its row lands below the max); the count and hash sum see it. The statement reads
 * the target's entries of the (target_id, version) index, which a watch that keeps up holds at
 * a handful: the cost of the poll is one round trip.
 */
const part = (q: ChangeQueue, i: number) =>
  `SELECT ${i} AS i, count(*)::int AS n, coalesce(max(version), 0)::text AS top, coalesce(sum(hashint8(version)), 0)::text AS h
   FROM movies.${q.table} WHERE target_id = :t${i}`;

/** The fingerprints of several targets' queues in one statement, in the order given. */
export async function queueFingerprints(db: Db, of: readonly QueueOfTarget[]): Promise<string[]> {
  if (of.length === 0) return [];
  const sql = of.map((o, i) => part(o.queue, i)).join('\nUNION ALL\n');
  const bindings = Object.fromEntries(of.map((o, i) => [`t${i}`, o.target]));
  const rows = (await db.raw<{ rows: Array<{ i: number; n: number; top: string; h: string }> }>(sql, bindings)).rows;
  const out = new Array<string>(of.length).fill('');
  for (const r of rows) out[r.i] = `${r.n}:${r.top}:${r.h}`;
  return out;
}
