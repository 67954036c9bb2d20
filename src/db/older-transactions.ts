import { WaitTimedOutError } from '../core/errors.js';
import { interrupted, sleep } from '../core/retry.js';
import type { Db } from './knex.js';

const POLL_MS = 100;

interface OpenTransaction {
  virtualxid: string;
  pid: number;
  application_name: string;
  xact_start: Date | null;
}

/*
 * A capture trigger queues a change for the targets its statement can see. A writer whose
 * statement (or, under REPEATABLE READ, whose transaction) took its snapshot before a new
 * target committed queues its change without that target, and may commit after the build has
 * read the document: the new index would miss the change for good. So, as CREATE INDEX
 * CONCURRENTLY does, the build waits until every transaction of this database that was open
 * when the target committed has ended; every later snapshot sees the target. Each transaction
 * holds its own virtualxid lock until it ends, which pg_locks shows to every user.
 */
export async function waitForOlderTransactions(db: Db, boundMs: number, signal?: AbortSignal): Promise<void> {
  const open = (
    await db.raw<{ rows: OpenTransaction[] }>(`
      SELECT l.virtualxid, a.pid, a.application_name, a.xact_start
      FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'virtualxid' AND l.granted AND a.datname = current_database()
        AND a.backend_type = 'client backend' AND l.pid <> pg_backend_pid()`)
  ).rows;
  const deadline = Date.now() + boundMs;
  let left = open;
  while (left.length > 0) {
    if (signal?.aborted) throw interrupted(signal);
    if (Date.now() >= deadline) {
      const t = left[0]!;
      const since = t.xact_start ? ` since ${new Date(t.xact_start).toISOString()}` : '';
      // Not exit 6: no run holds a lock; a transaction of another session outlived our wait.
      throw new WaitTimedOutError(
        `${left.length} transaction(s) older than the new index's registration are still open (pid ${t.pid}` +
          `${t.application_name ? `, ${t.application_name}` : ''}${since}); a change they make could miss the new ` +
          `index, so the rebuild stopped before filling it. End them, or raise --max-retry-time, and run init-es again.`,
      );
    }
    await sleep(POLL_MS, signal).catch(() => undefined);
    const still = new Set(
      (
        await db.raw<{ rows: Array<{ virtualxid: string }> }>(
          `SELECT virtualxid FROM pg_locks WHERE locktype = 'virtualxid' AND virtualxid = ANY(?)`,
          [left.map((t) => t.virtualxid)],
        )
      ).rows.map((r) => r.virtualxid),
    );
    left = left.filter((t) => still.has(t.virtualxid));
  }
}
