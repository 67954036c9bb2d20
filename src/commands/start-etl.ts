import type { Db } from '../db/knex.js';
import { withPgRetry } from '../db/retry.js';
import type { SearchEngine } from '../engine/types.js';
import { UsageError } from '../errors.js';
import { runEtl, type EtlResult } from '../etl/run.js';
import { finishRun, RunLock, startRun, type RunCounts } from '../etl/state.js';

export interface StartEtlOptions {
  db: Db;
  engine: SearchEngine;
  databaseUrl: string;
  index: string;
  batchSize: number;
  concurrency: number;
  maxRetryTimeMs: number;
  wait?: boolean;
  signal?: AbortSignal;
  bulkSettingsThreshold?: number;
  log?(message: string): void;
  progress?(sofar: Readonly<EtlResult>): void;
}

export async function startEtl(o: StartEtlOptions): Promise<EtlResult & { index: string; engine: string }> {
  const pg = <T>(fn: () => Promise<T>) => withPgRetry(fn, o.maxRetryTimeMs, o.log);
  const lock = await pg(() => RunLock.acquire(o.databaseUrl, o.wait ?? false));
  try {
    if (!(await o.engine.indexExists(o.index))) {
      throw new UsageError(`index "${o.index}" does not exist on the ${o.engine.kind} server; run \`movies init-es\` first`);
    }
    const runId = await pg(() => startRun(o.db, o.index));
    // What was acknowledged and marked before a failure is recorded with the failed run.
    let sofar: RunCounts = { indexed: 0, deleted: 0, batches: 0 };
    try {
      const result = await runEtl({
        ...o,
        bulkSettingsThreshold: o.bulkSettingsThreshold ?? 10_000,
        ensureLock: () => lock.ensureHeld(),
        progress: (r) => {
          sofar = { indexed: r.indexed, deleted: r.deleted, batches: r.batches };
          o.progress?.(r);
        },
      });
      await pg(() => finishRun(o.db, runId, 'success', result));
      return { ...result, index: o.index, engine: o.engine.kind };
    } catch (err) {
      await finishRun(o.db, runId, 'failed', sofar, (err as Error).message).catch(
        () => undefined,
      );
      throw err;
    }
  } finally {
    await lock.release();
  }
}
