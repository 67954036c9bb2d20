import type { Db } from '../db/knex.js';
import { withPgRetry } from '../db/retry.js';
import type { SearchEngine } from '../engine/types.js';
import { InterruptedError } from '../errors.js';
import { applyBulkSettings, restoreSavedSettings } from './bulk-settings.js';
import { pages, pendingWatermark, readPage } from './extractor.js';
import { sendBulk } from './loader.js';
import { loadValidator } from './schema.js';
import { markAcknowledged } from './state.js';
import { toBulk } from './transformer.js';

export interface EtlOptions {
  db: Db;
  engine: SearchEngine;
  index: string;
  batchSize: number;
  /** Bulk requests in flight at once. */
  concurrency: number;
  maxRetryTimeMs: number;
  /** Switch to bulk-load index settings when at least this many films are pending. */
  bulkSettingsThreshold: number;
  schemaPath?: string;
  /** Called before each mark; throws if the run lock cannot be held. */
  ensureLock?(): Promise<void>;
  /** Stops taking new pages; in-flight pages are finished and marked. */
  signal?: AbortSignal;
  log?(message: string): void;
  progress?(done: number, total: number): void;
}

export interface EtlResult {
  pending: number;
  indexed: number;
  deleted: number;
  /** Acknowledged but left pending because a writer changed the film meanwhile. */
  requeued: number;
  batches: number;
  seconds: number;
  docsPerSecond: number;
}

async function countPending(db: Db, upTo: number): Promise<number> {
  const r = await db.raw<{ rows: Array<{ n: number }> }>(
    'SELECT count(*)::int AS n FROM content.film_work_change WHERE version <= ?',
    [upTo],
  );
  return r.rows[0]?.n ?? 0;
}

/**
 * extract → transform → load, overlapped: the next page is read while the current one is
 * validated, and up to `concurrency` bulk requests are in flight. A page is marked indexed
 * only after the engine acknowledged all of it.
 */
export async function runEtl(o: EtlOptions): Promise<EtlResult> {
  const started = performance.now();
  const pg = <T>(fn: () => Promise<T>) => withPgRetry(fn, o.maxRetryTimeMs, o.log);
  const validate = loadValidator(o.schemaPath);

  await pg(() => restoreSavedSettings(o.db, o.engine, o.index)).then(
    (restored) => restored && o.log?.(`restored index settings left by an interrupted run`),
  );
  const upTo = await pg(() => pendingWatermark(o.db));
  const pending = upTo === 0 ? 0 : await pg(() => countPending(o.db, upTo));
  const result: EtlResult = { pending, indexed: 0, deleted: 0, requeued: 0, batches: 0, seconds: 0, docsPerSecond: 0 };
  if (pending === 0) return finish(result, started);

  const bulkMode = pending >= o.bulkSettingsThreshold;
  if (bulkMode) await applyBulkSettings(o.db, o.engine, o.index);

  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  try {
    const read = (after: number) => pg(() => readPage(o.db, after, upTo, o.batchSize));
    for await (const batch of pages(read, o.batchSize)) {
      if (o.signal?.aborted) {
        throw new InterruptedError(
          `interrupted (${String(o.signal.reason)}); acknowledged pages were marked, the rest stays pending`,
        );
      }
      const payload = toBulk(batch.rows, o.index, validate);
      while (inflight.size >= o.concurrency) await Promise.race(inflight);
      if (failure) break;
      const task = (async () => {
        await sendBulk(o.engine, payload.ndjson, o);
        const marked = await pg(async () => {
          await o.ensureLock?.();
          return markAcknowledged(o.db, payload.ids, payload.versions);
        });
        result.indexed += payload.indexed;
        result.deleted += payload.deleted;
        result.requeued += payload.ids.length - marked;
        result.batches++;
        o.progress?.(result.indexed + result.deleted, pending);
      })()
        .catch((err: unknown) => {
          failure ??= err;
        })
        .finally(() => inflight.delete(task));
      inflight.add(task);
    }
  } finally {
    // Let acknowledged work be marked before reporting any failure.
    await Promise.all(inflight);
  }
  if (failure) throw failure;
  if (bulkMode) {
    await pg(() => restoreSavedSettings(o.db, o.engine, o.index));
    await o.engine.refresh(o.index);
  }
  return finish(result, started);
}

function finish(r: EtlResult, started: number): EtlResult {
  r.seconds = (performance.now() - started) / 1000;
  r.docsPerSecond = r.seconds > 0 ? (r.indexed + r.deleted) / r.seconds : 0;
  return r;
}
