import type { IndexChoice, Timeouts } from '../config.js';
import type { Db } from '../db/knex.js';
import { withPgRetry } from '../db/retry.js';
import type { SearchEngine } from '../engine/types.js';
import { withEngineRetry } from '../engine/errors.js';
import type { RetryPolicy } from '../retry.js';
import { runEtl, type EtlResult } from '../etl/run.js';
import { aliasLock, RunLock } from '../db/lock.js';
import { aliasKey, destinationFor } from '../lifecycle/resolve.js';
import { finishRun, recordFailure, startRun, type RunCounts } from '../db/runs.js';

export interface StartEtlOptions {
  db: Db;
  engine: SearchEngine;
  databaseUrl: string;
  /** The engine URL, recorded (redacted) with a target claimed from an earlier version. */
  engineUrl: string;
  timeouts: Timeouts;
  /** The indexes to bring up to date, in order, each under its alias's run lock. */
  indexes: IndexChoice[];
  batchSize: number;
  concurrency: number;
  retry: RetryPolicy;
  wait?: boolean;
  skipInvalid?: boolean;
  bulkSettingsThreshold?: number;
  progress?(index: string, sofar: Readonly<EtlResult>): void;
}

export type IndexRun = EtlResult & { index: string };

/** The totals over every index (as one run's figures were before), and each index's own. */
export type StartEtlResult = EtlResult & { index: string; engine: string; indexes: Record<string, IndexRun> };


export async function startEtl(o: StartEtlOptions): Promise<StartEtlResult> {
  const pg = <T>(fn: () => Promise<T>) => withPgRetry(fn, o.retry);
  const indexes: Record<string, IndexRun> = {};
  for (const t of o.indexes) indexes[t.spec.name] = { ...(await runOne(o, t, pg)), index: t.index };
  return { ...sum(Object.values(indexes)), index: o.indexes.map((t) => t.index).join(','), engine: o.engine.kind, indexes };
}

/**
 * One index's run on this cluster's target for its alias, under the alias's run lock, recorded
 * in the run history, success or not.
 */
async function runOne(o: StartEtlOptions, t: IndexChoice, pg: <T>(fn: () => Promise<T>) => Promise<T>): Promise<EtlResult> {
  const key = aliasKey(o.engine, t, o.engineUrl);
  const lock = await pg(() => RunLock.acquire(o.databaseUrl, o.timeouts, o.wait ?? false, aliasLock('run', key.cluster, key.alias)));
  try {
    const { target, dest } = await withEngineRetry('reading the alias', () => pg(() => destinationFor(o.db, o.engine, key)), o.retry);
    if (!dest.viaAlias) {
      o.retry.log?.(
        `"${t.index}" is a concrete index created by an earlier version; run \`movies init-es\` once to turn it into an alias (without downtime)`,
      );
    }
    const runId = await pg(() => startRun(o.db, t.index, target.id));
    // What was marked before a failure is recorded with the failed run.
    let sofar: RunCounts = { indexed: 0, deleted: 0, rejected: 0, batches: 0 };
    try {
      const result = await runEtl({
        ...o,
        spec: t.spec,
        dest,
        bulkSettingsThreshold: o.bulkSettingsThreshold ?? 10_000,
        ensureLock: () => lock.ensureHeld(),
        progress: (r) => {
          sofar = { indexed: r.indexed, deleted: r.deleted, rejected: r.rejected, batches: r.batches };
          o.progress?.(t.index, r);
        },
      });
      await pg(() => finishRun(o.db, runId, 'success', result));
      return result;
    } catch (err) {
      throw await recordFailure(o.db, runId, err, sofar);
    }
  } finally {
    await lock.release();
  }
}

function sum(runs: EtlResult[]): EtlResult {
  const total: EtlResult = { pending: 0, indexed: 0, deleted: 0, rejected: 0, requeued: 0, batches: 0, seconds: 0, docsPerSecond: 0, queryMs: 0 };
  for (const r of runs) {
    for (const k of ['pending', 'indexed', 'deleted', 'rejected', 'requeued', 'batches', 'seconds', 'queryMs'] as const) total[k] += r[k];
  }
  total.docsPerSecond = total.seconds > 0 ? (total.indexed + total.deleted) / total.seconds : 0;
  return total;
}
