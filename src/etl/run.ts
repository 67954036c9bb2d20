import type { Db } from '../db/knex.js';
import { withPgRetry } from '../db/retry.js';
import type { SearchEngine } from '../engine/types.js';
import { InterruptedError } from '../errors.js';
import { withEngineRetry } from '../engine/errors.js';
import { applyBulkSettings, restoreSavedSettings } from './bulk-settings.js';
import { pageEnd, pages, pendingWatermark, readRange } from './extractor.js';
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
  /** Pages built ahead of the one being sent, each on its own connection (default 2). */
  readAhead?: number;
  maxRetryTimeMs: number;
  /** Switch to bulk-load index settings when at least this many films are pending. */
  bulkSettingsThreshold: number;
  schemaPath?: string;
  /** Called before each mark; throws if the run lock cannot be held. */
  ensureLock?(): Promise<void>;
  /** Stops taking new pages; in-flight pages are finished and marked. */
  signal?: AbortSignal;
  log?(message: string): void;
  /** After each acknowledged page, with the counts so far. */
  progress?(sofar: Readonly<EtlResult>): void;
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
  /** Milliseconds during which at least one PostgreSQL query of the run was in flight. */
  queryMs: number;
}

type KnexQuery = { __knexQueryUid?: string };

/** Wall time with a query in flight on `db`, from knex's query events (overlapping queries count once). */
function queryClock(db: Db) {
  const open = new Set<string>();
  let since = 0;
  let total = 0;
  const start = (q: KnexQuery) => {
    if (!q.__knexQueryUid) return;
    if (open.size === 0) since = performance.now();
    open.add(q.__knexQueryUid);
  };
  const end = (_: unknown, q: KnexQuery) => {
    if (!q.__knexQueryUid || !open.delete(q.__knexQueryUid)) return;
    if (open.size === 0) total += performance.now() - since;
  };
  db.on('query', start).on('query-response', end).on('query-error', end);
  return {
    ms: () => total + (open.size > 0 ? performance.now() - since : 0),
    stop: () => db.off('query', start).off('query-response', end).off('query-error', end),
  };
}

/**
 * extract → transform → load, overlapped: the next page is read while the current one is
 * validated, and up to `concurrency` bulk requests are in flight. A page is marked indexed
 * only after the engine acknowledged all of it.
 */
export async function runEtl(o: EtlOptions): Promise<EtlResult> {
  const started = performance.now();
  const clock = queryClock(o.db);
  try {
    return await run(o, started, clock.ms);
  } finally {
    clock.stop();
  }
}

async function run(o: EtlOptions, started: number, queryMs: () => number): Promise<EtlResult> {
  const pg = <T>(fn: () => Promise<T>) => withPgRetry(fn, o.maxRetryTimeMs, o.log);
  const validate = loadValidator(o.schemaPath);

  await pg(() => restoreSavedSettings(o.db, o.engine, o.index)).then(
    (restored) => restored && o.log?.(`restored index settings left by an interrupted run`),
  );
  const { upTo, pending } = await pg(() => pendingWatermark(o.db));
  const result: EtlResult = {
    pending,
    indexed: 0,
    deleted: 0,
    requeued: 0,
    batches: 0,
    seconds: 0,
    docsPerSecond: 0,
    queryMs: 0,
  };
  if (pending === 0) return finish(result, started, queryMs);

  const bulkMode = pending >= o.bulkSettingsThreshold;
  if (bulkMode) await applyBulkSettings(o.db, o.engine, o.index);

  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  try {
    const source = {
      end: (after: number) => pg(() => pageEnd(o.db, after, upTo, o.batchSize)),
      read: (after: number, last: number) => pg(() => readRange(o.db, after, last)),
    };
    for await (const batch of pages(source, o.readAhead ?? 2)) {
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
        o.progress?.(result);
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
  if (bulkMode) await pg(() => restoreSavedSettings(o.db, o.engine, o.index));
  // A successful run ends with its changes searchable, so that status and searches agree at once.
  await withEngineRetry('refresh', () => o.engine.refresh(o.index), o.maxRetryTimeMs, o.log);
  if (bulkMode) await vacuumChanges(o.db, o.log);
  return finish(result, started, queryMs);
}

/*
 * A big run leaves as many dead rows in the change table as it marked. Until they are
 * vacuumed, every later run's watermark query walks them in the version index (measured on
 * 1M films: 0.2–0.8 s for a run with nothing to do, against a few ms after VACUUM).
 * Autovacuum gets there eventually; a big run does it at once. Without the rights to vacuum
 * (not the table's owner), PostgreSQL only warns and this is a no-op.
 */
async function vacuumChanges(db: Db, log?: (m: string) => void): Promise<void> {
  try {
    await db.raw('VACUUM content.film_work_change');
  } catch (err) {
    log?.(`could not vacuum content.film_work_change: ${(err as Error).message}`);
  }
}

function finish(r: EtlResult, started: number, queryMs: () => number): EtlResult {
  r.queryMs = Math.round(queryMs() * 10) / 10;
  r.seconds = (performance.now() - started) / 1000;
  r.docsPerSecond = r.seconds > 0 ? (r.indexed + r.deleted) / r.seconds : 0;
  return r;
}
