import { aliasLock, RunLock, type LockName } from '../db/lock.js';
import { waitForOlderTransactions } from '../db/older-transactions.js';
import { finishRun, recordFailure, startRun, type RunCounts } from '../db/runs.js';
import { enqueueAllInChunks, pendingStats } from '../db/queue.js';
import { withPgRetry } from '../db/retry.js';
import { dropTarget, recordSwap, registerBuild, type TargetRow } from '../db/targets.js';
import { withEngineRetry } from '../engine/errors.js';
import type { AliasAction, IndexBody, NameState } from '../engine/types.js';
import { LockedError } from '../core/errors.js';
import type { Destination } from '../etl/destination.js';
import { runEtl, type EtlResult } from '../etl/run.js';
import { settlesWithin, sleep } from '../core/retry.js';
import type { AliasWork } from './work.js';
import { buildAlias, physicalName } from './names.js';
import { discardTarget, prune } from './prune.js';
import { viewAlias } from './resolve.js';
import { createPhysical } from './create.js';
import { assertOwnName } from './own.js';
import type { OnProgress } from '../core/progress.js';
import { etlProgress, unitOf } from './run-index.js';

export interface RebuildOptions extends AliasWork {
  body: IndexBody;
  mappingPath: string;
  /** Previous indexes to keep for rollback. */
  keep: number;
  batchSize: number;
  concurrency: number;
  skipInvalid?: boolean;
  /** Moves captured changes into the queues (src/capture/) before each catch-up pass, so the pass sees what committed during the fill. */
  collect(): Promise<unknown>;
  /** Told each step as it begins (queueing, building, each catch-up pass, the swap) and how far it is. */
  progress?: OnProgress;
}

export interface RebuildResult {
  alias: string;
  /** The new concrete index the alias now points to. */
  physical: string;
  /** The index it pointed to before (null: none; for a concrete index of an earlier version, its name). */
  previous: string | null;
  indexed: number;
  deleted: number;
  rejected: number;
  /** Catch-up passes after the first fill, the last one under the run lock. */
  passes: number;
  /** Changes committed after the last pass, left pending for the next start-etl. */
  pending: number;
  /** Indexes deleted because more than --keep were kept, or left by failed builds. */
  dropped: string[];
  seconds: number;
}

/** A catch-up pass that finds at most this many pending documents is followed by the swap. */
const SMALL_PASS = 1_000;
const MAX_PASSES = 8;
/** Bounds cleanup after a failed build: the next init-es finishes whatever this leaves. */
const DISCARD_BOUND_MS = 5_000;

/**
 * Builds a new index for an alias aside and moves the alias to it in one atomic call:
 *   1. a new target is registered (from its commit on, every change is queued for it too) and
 *      the build waits until no transaction older than that is open;
 *   2. the index is created with its mapping (a rejected mapping stops here) and every document
 *      is made pending for it, then written through the index's own build alias;
 *   3. catch-up passes index what changed meanwhile, the last one under the alias's run lock;
 *   4. `_aliases` moves the alias (the old index, or an earlier version's concrete index, out;
 *      the new one in) and the database records it.
 * A name that is not this index's own (another index's alias, or a concrete index that is not
 * an earlier version's of this one) is refused before anything is changed (own.ts).
 * Until step 4 the alias keeps serving the old index, which start-etl keeps in step. Any
 * failure before it leaves the alias alone and removes the new index (or leaves it to the
 * next init-es, which removes what a killed build left).
 */
export async function rebuild(o: RebuildOptions): Promise<RebuildResult> {
  const started = performance.now();
  const pg = <T>(fn: () => Promise<T>) => withPgRetry(fn, o.retry);
  o.progress?.({ phase: 'taking the build lock' });
  const buildLock = await pg(() => RunLock.acquire(o.databaseUrl, o.timeouts, o.wait ?? false, aliasLock('build', o.key.cluster, o.key.alias)));
  try {
    const before = await viewAlias(o.db, o.engine, o.key);
    await pg(() => assertOwnName(o, before));
    // Holding the build lock, any target still building was left by a build that died.
    const dropped: string[] = [];
    for (const t of before.all.filter((t) => t.state === 'building')) dropped.push(...(await discardTarget(o, t, o.retry)));

    const physical = physicalName(o.key.alias);
    const target = await pg(() => registerBuild(o.db, o.key, physical));
    // The build is the new target's first run: status shows it as such.
    const runId = await pg(() => startRun(o.db, o.key.alias, target.id));
    const total: Totals = { indexed: 0, deleted: 0, rejected: 0, batches: 0, passes: 0 };
    try {
      o.progress?.({ phase: 'waiting for older transactions' });
      await waitForOlderTransactions(o.db, Math.max(o.retry.maxRetryTimeMs, 5_000), o.retry.signal);
      o.progress?.({ phase: 'creating the index' });
      await createPhysical(o, physical, { ...o.body, aliases: { [buildAlias(physical)]: {} } });
      const queueing = (done: number) => o.progress?.({ phase: 'queueing every document', done, unit: unitOf(o.spec) });
      queueing(0);
      await enqueueAllInChunks(o.db, o.spec.queue, o.spec.allIdsSql, target.id, pg, undefined, queueing);
      const dest: Destination = { target: target.id, write: buildAlias(physical), physical, viaAlias: true };
      await fill(o, dest, () => buildLock.ensureHeld(), total);
      const swap = await swapUnderRunLock(o, target, dest, total);
      await pg(() => finishRun(o.db, runId, 'success', total));
      o.progress?.({ phase: 'pruning old indexes' });
      dropped.push(...(await prune(o, o.keep)));
      return { alias: o.key.alias, physical, previous: swap.previous, ...counts(total), pending: swap.pending, dropped, seconds: (performance.now() - started) / 1000 };
    } catch (err) {
      const shown = await recordFailure(o.db, runId, err, total);
      await settlesWithin(DISCARD_BOUND_MS, discardUnlessServing(o, target).catch(() => undefined));
      throw shown;
    }
  } finally {
    await buildLock.release();
  }
}

/**
 * After a failure the new index is removed, unless the alias already points to it: a failure
 * after the `_aliases` call (recording it, pruning) or an answer lost on the way back must not
 * delete the index that now serves. When the engine cannot say, the index stays, and the next
 * init-es, which reads the alias first, records or removes it.
 */
async function discardUnlessServing(o: RebuildOptions, target: TargetRow): Promise<void> {
  const once = { ...o.retry, signal: undefined, maxRetryTimeMs: 0 };
  const state = await o.engine.nameState(o.key.alias);
  if (state.kind === 'alias' && state.indices.includes(target.physical!)) {
    await withPgRetry(() => recordSwap(o.db, target.id), once);
    return;
  }
  await discardTarget(o, target, once);
}

type Totals = RunCounts & { passes: number };

const counts = (t: Totals) => ({ indexed: t.indexed, deleted: t.deleted, rejected: t.rejected, passes: t.passes });

/** The first fill (pass 0), a catch-up pass, or the last one, under the run lock. */
async function etl(o: RebuildOptions, dest: Destination, pass: number | 'last', ensureLock: () => Promise<void>, total: Totals) {
  const first = pass === 0;
  const phase = first ? 'building the index' : pass === 'last' ? 'last catch-up pass (under the run lock)' : `catch-up pass ${pass}`;
  if (!first) {
    o.progress?.({ phase: `${phase}: collecting changes` });
    await withPgRetry(() => o.collect(), o.retry);
  }
  const shown = etlProgress(o.progress, {}, phase, o.spec);
  return runEtl({
    db: o.db,
    engine: o.engine,
    spec: o.spec,
    dest,
    batchSize: o.batchSize,
    concurrency: o.concurrency,
    retry: o.retry,
    skipInvalid: o.skipInvalid,
    // The first fill of a large index runs without refreshes; catch-up passes are small.
    bulkSettingsThreshold: first ? 10_000 : Number.POSITIVE_INFINITY,
    ensureLock,
    progress: shown.pages,
    step: shown.step,
  }).then((r) => {
    total.indexed += r.indexed;
    total.deleted += r.deleted;
    total.rejected += r.rejected;
    total.batches += r.batches;
    return r;
  });
}

/** The first fill, then catch-up passes until one finds little to do. */
async function fill(o: RebuildOptions, dest: Destination, ensureLock: () => Promise<void>, total: Totals): Promise<void> {
  await etl(o, dest, 0, ensureLock, total);
  for (;;) {
    const r = await etl(o, dest, total.passes + 1, ensureLock, total);
    total.passes++;
    if (r.pending <= SMALL_PASS || total.passes >= MAX_PASSES) return;
  }
}

/**
 * The run lock keeps start-etl from writing through the alias while it moves: a start-etl
 * that read a document before the swap must not write it into the new index after it.
 */
async function swapUnderRunLock(o: RebuildOptions, target: TargetRow, dest: Destination, total: Totals) {
  o.progress?.({ phase: 'taking the run lock' });
  const runLock = await acquireWithin(o, aliasLock('run', o.key.cluster, o.key.alias));
  try {
    const view = await viewAlias(o.db, o.engine, o.key);
    const { state, live } = view;
    // Again under the lock: the name may have changed during the build (an alias added by hand).
    await assertOwnName(o, view);
    await etl(o, dest, 'last', () => runLock.ensureHeld(), total);
    total.passes++;
    o.progress?.({ phase: 'swapping the alias' });
    const actions = swapActions(state, o.key.alias, dest.physical);
    await withEngineRetry('moving the alias', () => o.engine.updateAliases(actions), o.retry);
    await withPgRetry(() => recordSwap(o.db, target.id), { ...o.retry, signal: undefined });
    // An earlier version's concrete index went with the swap; its target tracks nothing now.
    if (state.kind === 'index' && live?.physical === o.key.alias) await withPgRetry(() => dropTarget(o.db, live.id), o.retry);
    const { pending } = await withPgRetry(() => pendingStats(o.db, o.spec.queue, target.id), o.retry);
    return { previous: state.kind === 'alias' ? (state.indices[0] ?? null) : state.kind === 'index' ? o.key.alias : null, pending };
  } finally {
    await runLock.release();
  }
}

/** One atomic `_aliases` call: whatever the name is now goes, the new index comes in, its build alias goes. */
export function swapActions(state: NameState, alias: string, physical: string): AliasAction[] {
  const out: AliasAction[] =
    state.kind === 'alias'
      ? state.indices.map((index) => ({ remove: { index, alias, must_exist: true as const } }))
      : state.kind === 'index'
        ? [{ remove_index: { index: alias } }]
        : [];
  return [...out, { add: { index: physical, alias } }, { remove: { index: physical, alias: buildAlias(physical), must_exist: true } }];
}

/** The run lock, waiting for a running start-etl within the budget (or for as long as it takes, with --wait). */
async function acquireWithin(o: RebuildOptions, name: LockName): Promise<RunLock> {
  if (o.wait) return withPgRetry(() => RunLock.acquire(o.databaseUrl, o.timeouts, true, name), o.retry);
  const deadline = Date.now() + Math.max(o.retry.maxRetryTimeMs, 10_000);
  for (;;) {
    try {
      return await withPgRetry(() => RunLock.acquire(o.databaseUrl, o.timeouts, false, name), o.retry);
    } catch (err) {
      if (!(err instanceof LockedError) || Date.now() >= deadline) {
        if (err instanceof LockedError) {
          throw new LockedError(
            `${name.held} and did not finish within --max-retry-time; the new index was discarded and the alias left as it was. Run init-es again, or with --wait.`,
          );
        }
        throw err;
      }
      await sleep(250, o.retry.signal);
    }
  }
}
