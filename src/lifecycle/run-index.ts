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
import { runEtl, type EtlResult, type EtlStep } from '../etl/run.js';
import { aliasLock, type HeldLock, type LockName } from '../db/lock.js';
import { pendingStats } from '../db/queue.js';
import { aliasKey, destinationFor } from './resolve.js';
import { finishRun, progressRecorder, recordFailure, startRun, type RunCounts } from '../db/runs.js';
import type { CaptureContext } from '../capture/mode.js';
import type { OnProgress, Progress } from '../core/progress.js';
import type { IndexSpec } from '../indexes/spec.js';

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
  /** Told each index's steps as they begin and how far its run is (scope: the index's alias). */
  progress?: OnProgress;
}

/** A run's documents, in progress: films, genres, persons. */
export const unitOf = (spec: Pick<IndexSpec, 'noun'>) => `${spec.noun ?? 'document'}s`;

/** What a run has done of its pending documents: written, deleted, left out or left pending for a writer's newer change. */
export const processed = (r: Readonly<EtlResult>) => r.indexed + r.deleted + r.rejected + r.requeued;

/** runEtl's steps named for a person, with `pages` called `pagesPhase` (a rebuild's passes have names of their own). */
export function etlProgress(progress: OnProgress | undefined, base: Omit<Progress, 'phase'>, pagesPhase: string, spec: Pick<IndexSpec, 'noun'>) {
  let total = 0;
  return {
    step: (step: EtlStep, pending: number) => {
      total = pending;
      const phase = step === 'pages' ? pagesPhase : step === 'refresh' ? 'refreshing the index' : 'vacuuming the queue';
      progress?.(step === 'pages' ? { ...base, phase, done: 0, total, unit: unitOf(spec) } : { ...base, phase });
    },
    pages: (r: Readonly<EtlResult>) => progress?.({ ...base, phase: pagesPhase, done: processed(r), total: total || r.pending, unit: unitOf(spec) }),
  };
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
  o.progress?.({ scope: t.index, phase: 'taking the run lock' });
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
    const shown = etlProgress(o.progress, { scope: t.index }, 'indexing', t.spec);
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
          shown.pages(r);
        },
        step: shown.step,
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

