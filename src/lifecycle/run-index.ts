/*
 * The run of one index under its alias's run lock: what a one-shot `start-etl` does for each
 * index, and what each cycle of a watch does.
 */
import type { IndexChoice, Timeouts } from '../config/types.js';
import type { Db } from '../db/knex.js';
import { withPgRetry } from '../db/retry.js';
import type { SearchEngine } from '../engine/types.js';
import { withEngineRetry } from '../engine/errors.js';
import type { RetryPolicy } from '../core/retry.js';
import { runEtl, type EtlResult } from '../etl/run.js';
import { aliasLock, type HeldLock, type LockName } from '../db/lock.js';
import { pendingStats } from '../db/queue.js';
import { aliasKey, destinationFor } from './resolve.js';
import { finishRun, progressRecorder, recordFailure, startRun, type RunCounts } from '../db/runs.js';
import type { CaptureContext } from '../capture/mode.js';

export interface RunOptions {
  db: Db;
  engine: SearchEngine;
  databaseUrl: string;
  /** The engine URL, recorded (redacted) with a target claimed from an earlier version. */
  engineUrl: string;
  timeouts: Timeouts;
  /** The indexes to bring up to date, in order, each under its alias's run lock. */
  indexes: IndexChoice[];
  /** Where captured changes come from (logical capture: the slot, moved into the queues first). */
  capture: CaptureContext;
  batchSize: number;
  concurrency: number;
  retry: RetryPolicy;
  wait?: boolean;
  skipInvalid?: boolean;
  bulkSettingsThreshold?: number;
  progress?(index: string, sofar: Readonly<EtlResult>): void;
}

/** One index's run, with what is left pending after it and the age of the oldest of those changes. */
export type IndexRun = EtlResult & { index: string; target: number; pendingAfter: number; lagSeconds: number };

/** How a run takes its alias's run lock: on its own connection (one-shot), or on the watch loop's session. */
export type TakeLock = (name: LockName) => Promise<HeldLock>;

/**
 * One index's run on this cluster's target for its alias, under the alias's run lock. With
 * `record`, it is recorded in the run history as it starts and ends, success or not (a watch
 * records its cycles itself, only those that did something).
 */
export async function runIndex(o: RunOptions, t: IndexChoice, takeLock: TakeLock, opts: { record: boolean }): Promise<IndexRun> {
  const pg = <T>(fn: () => Promise<T>) => withPgRetry(fn, o.retry);
  const key = aliasKey(o.engine, t, o.engineUrl);
  const lock = await takeLock(aliasLock('run', key.cluster, key.alias));
  try {
    const { target, dest } = await withEngineRetry('reading the alias', () => pg(() => destinationFor(o.db, o.engine, key)), o.retry);
    if (!dest.viaAlias) {
      o.retry.log?.(
        `"${t.index}" is a concrete index created by an earlier version; run \`movies init-es\` once to turn it into an alias (without downtime)`,
      );
    }
    const runId = opts.record ? await pg(() => startRun(o.db, t.index, target.id)) : undefined;
    // What was marked before a failure is recorded with the failed run.
    let sofar: RunCounts = { indexed: 0, deleted: 0, rejected: 0, batches: 0 };
    // The run's row says how far it is while it goes (status reads it), at most once a second.
    const recorder = runId !== undefined ? progressRecorder(o.db, runId) : undefined;
    try {
      const result = await runEtl({
        ...o,
        spec: t.spec,
        dest,
        bulkSettingsThreshold: o.bulkSettingsThreshold ?? 10_000,
        ensureLock: () => lock.ensureHeld(),
        progress: (r) => {
          sofar = { indexed: r.indexed, deleted: r.deleted, rejected: r.rejected, batches: r.batches };
          recorder?.update(sofar);
          o.progress?.(t.index, r);
        },
      });
      await recorder?.settle();
      if (runId !== undefined) await pg(() => finishRun(o.db, runId, 'success', result));
      const after = await pg(() => pendingStats(o.db, t.spec.queue, target.id));
      return { ...result, index: t.index, target: target.id, pendingAfter: after.pending, lagSeconds: after.lagSeconds };
    } catch (err) {
      await recorder?.settle();
      throw runId !== undefined ? await recordFailure(o.db, runId, err, sofar) : err;
    }
  } finally {
    await lock.release();
  }
}

