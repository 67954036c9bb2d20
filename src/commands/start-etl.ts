import type { Timeouts } from '../config.js';
import type { Db } from '../db/knex.js';
import { toMoviesError } from '../db/errors.js';
import { withPgRetry } from '../db/retry.js';
import type { SearchEngine } from '../engine/types.js';
import { withEngineRetry } from '../engine/errors.js';
import { InterruptedError, UsageError } from '../errors.js';
import type { RetryPolicy } from '../retry.js';
import { runEtl, type EtlResult } from '../etl/run.js';
import { RunLock } from '../db/lock.js';
import { finishRun, startRun, type RunCounts } from '../db/runs.js';
import type { IndexSpec } from '../indexes/spec.js';
import { settlesWithin } from '../retry.js';

export interface StartEtlOptions {
  db: Db;
  engine: SearchEngine;
  databaseUrl: string;
  timeouts: Timeouts;
  spec: IndexSpec;
  index: string;
  batchSize: number;
  concurrency: number;
  retry: RetryPolicy;
  wait?: boolean;
  skipInvalid?: boolean;
  bulkSettingsThreshold?: number;
  progress?(sofar: Readonly<EtlResult>): void;
}

/** Recording a failed run must not keep a failing process alive (PostgreSQL may be the failure). */
const RECORD_BOUND_MS = 3_000;

export async function startEtl(o: StartEtlOptions): Promise<EtlResult & { index: string; engine: string }> {
  const pg = <T>(fn: () => Promise<T>) => withPgRetry(fn, o.retry);
  const lock = await pg(() => RunLock.acquire(o.databaseUrl, o.timeouts, o.wait ?? false));
  try {
    if (!(await withEngineRetry('checking the index', () => o.engine.indexExists(o.index), o.retry))) {
      throw new UsageError(`index "${o.index}" does not exist on the ${o.engine.kind} server; run \`movies init-es\` first`);
    }
    const runId = await pg(() => startRun(o.db, o.index));
    // What was marked before a failure is recorded with the failed run.
    let sofar: RunCounts = { indexed: 0, deleted: 0, rejected: 0, batches: 0 };
    try {
      const result = await runEtl({
        ...o,
        bulkSettingsThreshold: o.bulkSettingsThreshold ?? 10_000,
        ensureLock: () => lock.ensureHeld(),
        progress: (r) => {
          sofar = { indexed: r.indexed, deleted: r.deleted, rejected: r.rejected, batches: r.batches };
          o.progress?.(r);
        },
      });
      await pg(() => finishRun(o.db, runId, 'success', result));
      return { ...result, index: o.index, engine: o.engine.kind };
    } catch (err) {
      const shown = toMoviesError(err) as Error;
      const outcome = shown instanceof InterruptedError ? 'interrupted' : 'failed';
      await settlesWithin(RECORD_BOUND_MS, finishRun(o.db, runId, outcome, sofar, shown.message));
      throw shown;
    }
  } finally {
    await lock.release();
  }
}
