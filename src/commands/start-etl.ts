import { withPgRetry } from '../db/retry.js';
import { emptyResult, type EtlResult } from '../etl/run.js';
import { aliasLock, isLockHeld, RunLock } from '../db/lock.js';
import { LockedError } from '../core/errors.js';
import { aliasKey } from '../lifecycle/resolve.js';
import { collectAll } from '../capture/modes.js';
import { runIndex, type IndexRun, type RunOptions, type TakeLock } from '../lifecycle/run-index.js';

export type StartEtlOptions = RunOptions;

/** The totals over every index (as one run's figures were before), and each index's own. */
export type StartEtlResult = EtlResult & { index: string; engine: string; indexes: Record<string, IndexRun> };

export async function startEtl(o: StartEtlOptions): Promise<StartEtlResult> {
  const pg = <T>(fn: () => Promise<T>) => withPgRetry(fn, o.retry);
  const indexes: Record<string, IndexRun> = {};
  // Everything committed before the run is in the queues before it reads them.
  o.progress?.({ phase: 'collecting changes' });
  await pg(() => collectAll({ ...o.capture, signal: o.retry.signal }));
  for (const t of o.indexes) {
    const key = aliasKey(o.engine, t, o.engineUrl);
    // A watch keeps this alias in step; a one-shot run beside it would only race it for pages.
    const watching = aliasLock('watch', key.cluster, key.alias);
    if (await pg(() => isLockHeld(o.db, watching))) throw new LockedError(`${watching.held}; exiting`);
    const takeLock: TakeLock = (name) => pg(() => RunLock.acquire(o.databaseUrl, o.timeouts, o.wait ?? false, name));
    indexes[t.spec.name] = await runIndex(o, t, takeLock, { record: true });
  }
  return { ...sum(Object.values(indexes)), index: o.indexes.map((t) => t.index).join(','), engine: o.engine.kind, indexes };
}

function sum(runs: EtlResult[]): EtlResult {
  const total = emptyResult();
  for (const r of runs) {
    for (const k of ['pending', 'indexed', 'deleted', 'rejected', 'requeued', 'batches', 'seconds', 'queryMs'] as const) total[k] += r[k];
  }
  total.docsPerSecond = total.seconds > 0 ? (total.indexed + total.deleted) / total.seconds : 0;
  return total;
}
