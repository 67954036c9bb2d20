import { InterruptedError } from '../core/errors.js';
import { settlesWithin } from '../core/retry.js';
import { toMoviesError } from './errors.js';
import type { Db } from './knex.js';

export interface RunCounts {
  indexed: number;
  deleted: number;
  rejected: number;
  batches: number;
}

export type RunOutcome = 'success' | 'failed' | 'interrupted';

/** Run history kept per database; cron every minute for years must not grow it forever. */
export const KEEP_RUNS = 1000;

export async function startRun(db: Db, index: string, target: number): Promise<number> {
  const [row] = await db('movies.etl_run').insert({ index_name: index, target_id: target }).returning('id');
  const id = Number((row as { id: number }).id);
  await db('movies.etl_run').where('id', '<=', id - KEEP_RUNS).delete();
  return id;
}

/** A run recorded once it is over (a watch cycle that did something). */
export async function recordFinishedRun(db: Db, index: string, target: number, started: Date, counts: RunCounts): Promise<void> {
  const id = await startRun(db, index, target);
  await db('movies.etl_run').where({ id }).update({ started_at: started });
  await finishRun(db, id, 'success', counts);
}

/**
 * A watch's failing cycles, so that `status` sees them (it judges by the last run): one row per
 * streak of failures, not per failed cycle or retry, its error and finished_at brought up to
 * date by each failure of the streak. Returns the row's id, to pass back for the next failure.
 */
export async function recordFailingCycle(db: Db, streak: number | undefined, index: string, target: number, started: Date, error: string): Promise<number> {
  const none: RunCounts = { indexed: 0, deleted: 0, rejected: 0, batches: 0 };
  if (streak !== undefined) {
    const updated = await db('movies.etl_run').where({ id: streak, target_id: target }).update({ error, finished_at: db.raw('clock_timestamp()') });
    // Pruned meanwhile, or the live target changed (a rebuild): a new row for the streak.
    if (updated > 0) return streak;
  }
  const id = await startRun(db, index, target);
  await db('movies.etl_run').where({ id }).update({ started_at: started });
  await finishRun(db, id, 'failed', none, error);
  return id;
}

export async function finishRun(db: Db, id: number, outcome: RunOutcome, counts: RunCounts, error?: string) {
  await db('movies.etl_run')
    .where({ id })
    .update({
      outcome,
      indexed: counts.indexed,
      deleted: counts.deleted,
      rejected: counts.rejected,
      batches: counts.batches,
      error: error ?? null,
      finished_at: db.raw('clock_timestamp()'),
    });
}

/** Recording a failed run must not keep a failing process alive (PostgreSQL may be the failure). */
const RECORD_BOUND_MS = 3_000;

/**
 * Records a run that ended with `err` (interrupted by a signal, or failed) with what it had
 * marked, within a short bound; returns the error as the user is shown it.
 */
export async function recordFailure(db: Db, id: number, err: unknown, counts: RunCounts): Promise<Error> {
  const shown = toMoviesError(err) as Error;
  const outcome = shown instanceof InterruptedError ? 'interrupted' : 'failed';
  await settlesWithin(RECORD_BOUND_MS, finishRun(db, id, outcome, counts, shown.message));
  return shown;
}

/** The counts of a run still going, so that `status` says how far it is; a finished run is left as it ended. */
export async function recordProgress(db: Db, id: number, counts: RunCounts): Promise<void> {
  await db('movies.etl_run')
    .where({ id, outcome: 'running' })
    .update({ indexed: counts.indexed, deleted: counts.deleted, rejected: counts.rejected, batches: counts.batches });
}

/** Progress is written at most this often: one small UPDATE a second, whatever the page rate. */
export const PROGRESS_EVERY_MS = 1_000;

/**
 * Records a run's progress off its critical path: update() never waits and never throws; at
 * most one write is in flight and one starts per PROGRESS_EVERY_MS, so a slow or failing
 * database costs the run nothing but a stale figure in status. settle() lets the last write
 * end (bounded) before the run records its outcome.
 */
export function progressRecorder(db: Db, id: number, everyMs = PROGRESS_EVERY_MS) {
  let writing: Promise<void> | undefined;
  let last = 0;
  return {
    update(counts: RunCounts): void {
      if (writing || performance.now() - last < everyMs) return;
      last = performance.now();
      writing = recordProgress(db, id, { ...counts })
        .catch(() => undefined)
        .finally(() => (writing = undefined));
    },
    async settle(): Promise<void> {
      if (writing) await settlesWithin(RECORD_BOUND_MS, writing);
    },
  };
}
