import type { Db } from '../db/knex.js';
import { withPgRetry } from '../db/retry.js';
import type { SearchEngine } from '../engine/types.js';
import { withEngineRetry } from '../engine/errors.js';
import { markPage } from '../db/queue.js';
import { analyzeIfBlind, vacuumQueue } from '../db/queue-upkeep.js';
import type { IndexSpec } from '../indexes/spec.js';
import { interrupted, settlesWithin, type RetryPolicy } from '../core/retry.js';
import { loadValidator } from '../core/json-schema.js';
import { applyBulkSettings, restoreSavedSettings } from './bulk-settings.js';
import { pageEnd, pages, pendingWatermark, readRange } from './extractor.js';
import { Inflight } from './inflight.js';
import { sendBulk } from './loader.js';
import { toBulk } from './transformer.js';
import type { Destination } from './destination.js';
import { ensureHashMapping } from './hash-mapping.js';

export interface EtlOptions<Doc = unknown> {
  db: Db;
  engine: SearchEngine;
  /** What is indexed: the index's queue, page query, documents and schema. */
  spec: IndexSpec<Doc>;
  /** The target: its queue, the alias written to and the index behind it. */
  dest: Destination;
  batchSize: number;
  /** Bulk requests in flight at once. */
  concurrency: number;
  /** Pages built ahead of the one being sent, each on its own connection (default 2). */
  readAhead?: number;
  /** Budget, log and stop signal: the signal stops taking new pages and cuts retries short. */
  retry: RetryPolicy;
  /** Switch to bulk-load index settings when at least this many films are pending. */
  bulkSettingsThreshold: number;
  /** Leave out and record invalid documents (and documents the engine refuses) instead of failing. */
  skipInvalid?: boolean;
  /** Called before each mark; throws if the run lock cannot be held. */
  ensureLock?(): Promise<void>;
  /** After each marked page, with the counts so far. */
  progress?(sofar: Readonly<EtlResult>): void;
  /** As each step begins, with the documents pending when the run began (for progress: callers name the steps). */
  step?(step: EtlStep, pending: number): void;
}

/** What a run does after reading its pending count: its pages, then the refresh, then (after a bulk load) the queue's VACUUM. */
export type EtlStep = 'pages' | 'refresh' | 'vacuum';

export interface EtlResult {
  pending: number;
  indexed: number;
  deleted: number;
  /** Films left out as invalid or refused by the engine (--skip-invalid), recorded for status. */
  rejected: number;
  /** Acknowledged but left pending because a writer changed the film meanwhile. */
  requeued: number;
  batches: number;
  seconds: number;
  docsPerSecond: number;
  /** Milliseconds during which at least one PostgreSQL query of the run was in flight. */
  queryMs: number;
}

/** A run that did nothing (yet). */
export const emptyResult = (): EtlResult => ({
  pending: 0,
  indexed: 0,
  deleted: 0,
  rejected: 0,
  requeued: 0,
  batches: 0,
  seconds: 0,
  docsPerSecond: 0,
  queryMs: 0,
});

/*
 * After a stop signal, pages already sent get this long to be acknowledged and marked; then
 * the run gives up on them (they stay pending) so that SIGTERM ends it within seconds.
 */
export const STOP_GRACE_MS = 5_000;
/** Putting back the index settings after a failed bulk-mode run: best effort, bounded. */
const RESTORE_BOUND_MS = 5_000;

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
export async function runEtl<Doc>(o: EtlOptions<Doc>): Promise<EtlResult> {
  const started = performance.now();
  const clock = queryClock(o.db);
  try {
    return await run(o, started, clock.ms);
  } finally {
    clock.stop();
  }
}

async function run<Doc>(o: EtlOptions<Doc>, started: number, queryMs: () => number): Promise<EtlResult> {
  const signal = o.retry.signal;
  const pg = <T>(fn: () => Promise<T>) => withPgRetry(fn, o.retry);
  // Marking acknowledged work must go on after a stop signal; STOP_GRACE_MS bounds it instead.
  const pgMark = <T>(fn: () => Promise<T>) => withPgRetry(fn, { ...o.retry, signal: undefined });
  const validate = loadValidator<Doc>(o.spec.schemaPath);

  await pg(() => restoreSavedSettings(o.db, o.engine, o.dest.physical)).then(
    (restored) => restored && o.retry.log?.(`restored index settings left by an interrupted run`),
  );
  const { upTo, pending } = await pg(() => pendingWatermark(o.db, o.spec.queue, o.dest.target));
  const result: EtlResult = { ...emptyResult(), pending };
  if (pending === 0) return finish(result, started, queryMs);
  o.step?.('pages', pending);
  await ensureHashMapping(o.engine, o.dest.physical, o.retry);

  const bulkMode = pending >= o.bulkSettingsThreshold;
  await pg(() => analyzeIfBlind(o.db, o.spec.queue.table, o.dest.target, pending));
  const inflight = new Inflight(o.concurrency);
  // Set when the run stops waiting for its pages: a page acknowledged later is not marked.
  let abandoned = false;
  try {
    if (bulkMode) await applyBulkSettings(o.db, o.engine, o.dest.physical);
    const source = {
      end: (after: number) => pg(() => pageEnd(o.db, o.spec.queue, o.dest.target, after, upTo, o.batchSize)),
      read: (after: number, last: number) => pg(() => readRange(o.db, o.spec, o.dest.target, after, last)),
    };
    for await (const batch of pages(source, o.readAhead ?? 2)) {
      if (signal?.aborted) throw interrupted(signal);
      const payload = toBulk(batch.rows, o.dest.write, o.spec, validate, o.skipInvalid);
      if (!(await inflight.slot())) break;
      if (signal?.aborted) throw interrupted(signal);
      inflight.start(async () => {
        const sent = await sendBulk(o.engine, payload, o.dest, { retry: o.retry, skipInvalid: o.skipInvalid, noun: o.spec.noun });
        if (abandoned) return;
        const rejected = [...payload.invalid, ...sent.rejected];
        const marked = await pgMark(async () => {
          await o.ensureLock?.();
          return markPage(o.db, o.spec.queue, o.dest.target, sent.acknowledged, rejected);
        });
        for (const a of sent.acknowledged) result[a.op === 'delete' ? 'deleted' : 'indexed']++;
        result.rejected += marked.rejected;
        result.requeued += sent.acknowledged.length + rejected.length - marked.marked - marked.rejected;
        result.batches++;
        o.progress?.(result);
      });
    }
  } catch (err) {
    inflight.fail(err);
  } finally {
    // Let acknowledged work be marked before reporting any failure; after a stop signal, only briefly.
    const stopping = signal?.aborted || inflight.hasFailed;
    await inflight.settle(stopping ? STOP_GRACE_MS : undefined);
    abandoned = true;
  }
  if (inflight.hasFailed) {
    if (bulkMode) await restoreAfterFailure(o as EtlOptions);
    throw inflight.failure;
  }
  if (bulkMode) await pg(() => restoreSavedSettings(o.db, o.engine, o.dest.physical));
  // A successful run ends with its changes searchable, so that status and searches agree at once.
  o.step?.('refresh', pending);
  await withEngineRetry('refresh', () => o.engine.refresh(o.dest.physical), o.retry);
  if (bulkMode) o.step?.('vacuum', pending);
  if (bulkMode) await vacuumQueue(o.db, o.spec.queue.table, o.retry.log);
  return finish(result, started, queryMs);
}

/**
 * A failed or interrupted bulk-mode run puts the index settings back before it exits, where
 * both servers still answer within a few seconds; otherwise the saved settings stay in
 * PostgreSQL and the next run restores them.
 */
async function restoreAfterFailure(o: EtlOptions): Promise<void> {
  const restoring = restoreSavedSettings(o.db, o.engine, o.dest.physical).then(
    () => o.retry.log?.('restored the index settings of the bulk load'),
    (err: Error) => o.retry.log?.(`could not restore the index settings now (${err.message}); the next run will`),
  );
  await settlesWithin(RESTORE_BOUND_MS, restoring);
}

function finish(r: EtlResult, started: number, queryMs: () => number): EtlResult {
  r.queryMs = Math.round(queryMs() * 10) / 10;
  r.seconds = (performance.now() - started) / 1000;
  r.docsPerSecond = r.seconds > 0 ? (r.indexed + r.deleted) / r.seconds : 0;
  return r;
}
