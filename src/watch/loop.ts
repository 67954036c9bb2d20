import type { IndexChoice } from '../config/types.js';
import type { Db } from '../db/knex.js';
import { aliasLock, LockSession, RunLock } from '../db/lock.js';
import { withPgRetry } from '../db/retry.js';
import { recordFailingCycle, recordFinishedRun } from '../db/runs.js';
import { liveTarget, type AliasKey } from '../db/targets.js';
import { ConnectionError, LockedError } from '../core/errors.js';
import { toMoviesError } from '../db/errors.js';
import type { SearchEngine } from '../engine/types.js';
import { STOP_GRACE_MS } from '../etl/run.js';
import { aliasKey } from '../lifecycle/resolve.js';
import { interrupted, settlesWithin, sleep, type RetryPolicy } from '../core/retry.js';
import { runIndex, type RunOptions } from '../lifecycle/run-index.js';
import { WatchHealth } from './health.js';
import { queueFingerprints } from '../db/queue-fingerprint.js';
import { ChangePoller } from './poller.js';
import type { Subscription } from './subscription.js';
import { failureKind, serveMetrics, WatchMetrics } from './metrics.js';
import { readQueues } from './queue-reader.js';
import { startCollector } from './collector.js';
import type { SlotLagLimit } from '../config/types.js';

/**
 * What the watch connects with, at start-up and again after each failed attempt: the database
 * (its recorded catalogue checked) and the engine (GET /, its kind detected).
 */
export interface WatchConnect {
  database(): Promise<void>;
  engine(retry: RetryPolicy): Promise<SearchEngine>;
}

export interface WatchOptions extends Omit<RunOptions, 'engine'> {
  connect: WatchConnect;
  /** The engine kind as configured (elasticsearch, opensearch or auto), for movies_build_info until connected. */
  engineKind: string;
  /** The safety net: a cycle at least this often, whatever the queues look like. */
  pollIntervalMs: number;
  /** /healthz answers 503 when the oldest pending change is older than this. */
  maxLagSeconds: number;
  /** Logical capture: /healthz answers 503 when the slot keeps more WAL, or was read longer ago, than this. */
  maxSlotLag?: SlotLagLimit;
  /** Serve /metrics and /healthz on this port, on metricsHost's interface. */
  metricsPort?: number;
  metricsHost: string;
  /** One line per cycle that did something, and one per failure; nothing when idle. */
  log(message: string): void;
  db: Db;
}

export interface WatchResult {
  cycles: number;
  indexed: number;
  deleted: number;
  failures: number;
  seconds: number;
}

/**
 * Another watch took an alias over while this one's lock connection was down: it keeps the
 * alias in step now, and this one ends (exit 6) instead of waiting beside it. A lock that
 * cannot be checked (PostgreSQL down) is an outage like any other.
 */
class TakenOver extends LockedError {}
const tookOver = (err: unknown): never => {
  throw err instanceof LockedError ? new TakenOver(err.message) : err;
};

/**
 * The shortest time between the starts of two cycles of one index. Under a steady stream of
 * writes each cycle would otherwise start as soon as the last one ended, with a small bulk
 * request and a refresh each: the engine's CPU per document then grows, and on a machine whose
 * cores PostgreSQL shares it is taken from the writers. Measured with bench:writers, two runs one
 * after the other, not interleaved (8 clients
 * updating one film each, 100k films, OpenSearch): writers beside the watch went from 1,697–2,229
 * tps to 2,536–2,816, the engine's CPU from 0.44 to 0.27 ms per edit. An edit after a quiet
 * spell starts a cycle at once.
 */
export const CYCLE_SPACING_MS = 250;
/** After a failed cycle: 1 s, doubling, at most 30 s; reset by a successful cycle. */
const MAX_BACKOFF_MS = 30_000;
/** init-es holds the run lock while it moves the alias (about a second): look again soon. */
const LOCKED_RETRY_MS = 250;
/**
 * After a stop signal, a cycle gets the run's own grace for its pages in flight, and a little
 * more to end; one stuck on a request that never answers is left behind (its pages stay
 * pending), so that the watch still clears its flags and exits 0 within the 10 s stop bound.
 */
const CYCLE_STOP_BOUND_MS = STOP_GRACE_MS + 500;
/** Recording a failing cycle must not hold the loop up (PostgreSQL may be the failure). */
const RECORD_BOUND_MS = 3_000;

/**
 * A server that is down or unreachable, worth waiting for at start-up; anything else ends the
 * watch. A database, role or password PostgreSQL refuses is a UsageError there (db/errors.ts).
 */
function isOutage(raw: unknown): boolean {
  return toMoviesError(raw) instanceof ConnectionError;
}

/** `work`, or an InterruptedError as soon as `signal` fires (a connect attempt may hang up to its own timeout). */
function unlessStopped<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(interrupted(signal));
    if (signal.aborted) return void stop();
    signal.addEventListener('abort', stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}

/** One watched index: its alias, its own lock session, subscription and retry policy. */
interface Kept {
  choice: IndexChoice;
  key: AliasKey;
  watchLock: RunLock;
  session: LockSession;
  wake: Subscription;
  options: RunOptions;
}

/**
 * `start-etl --watch`: brings every index up to date, then waits until its queue changes
 * (poller.ts; or the poll interval passes), and again, until SIGINT/SIGTERM. It holds each
 * alias's watch lock for as long as it runs (a cron one-shot exits 6) and takes the run lock
 * for each cycle only, so that init-es can move the alias between two cycles. Each index has
 * cycles of its own (its own backoff, lock session and health), so that one index's trouble
 * (its index deleted, a document it cannot write) does not hold the others back. Outages of
 * either server fail a cycle, never the loop: it backs off, reports itself unhealthy, and
 * goes on. Acknowledgement rules are those of every run (src/etl/).
 */
export async function watch(o: WatchOptions): Promise<WatchResult> {
  const started = performance.now();
  // Ends every index's cycles: the user's signal, or another watch taking an alias over.
  const ending = new AbortController();
  const signal = o.retry.signal ? AbortSignal.any([o.retry.signal, ending.signal]) : ending.signal;
  const poller = new ChangePoller((of) => queueFingerprints(o.db, of));
  const metrics = new WatchMetrics(o.indexes.map((t) => t.spec.name), o.engineKind);
  const health = new WatchHealth(
    o.indexes.map((t) => ({ name: t.spec.name, alias: t.index })),
    o.maxLagSeconds,
    (name) => metrics.lagOf(name),
  );
  metrics.health = () => health.check();
  const totals: WatchResult = { cycles: 0, indexed: 0, deleted: 0, failures: 0, seconds: 0 };
  let server: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  const readers: Array<{ stop(): Promise<void> }> = [];
  const kept: Kept[] = [];
  let fatal: unknown;
  let engine: SearchEngine | undefined;

  /*
   * Start-up: the database, the engine, then each alias's watch lock, each tried once per
   * attempt. A server that is down does not end the watch: /healthz says which one (503) and
   * it tries again, backing off as a failing cycle does, until it is up or a stop signal comes.
   * What succeeded is kept between attempts. False: stopped before it started.
   */
  const start = async (): Promise<boolean> => {
    const once: RetryPolicy = { ...o.retry, maxRetryTimeMs: 0, signal };
    let databaseChecked = false;
    let backoff = 0;
    for (;;) {
      let server = 'database';
      try {
        if (!databaseChecked) await unlessStopped(o.connect.database(), signal);
        databaseChecked = true;
        server = 'engine';
        engine ??= await unlessStopped(o.connect.engine(once), signal);
        for (const t of o.indexes.slice(kept.length)) {
          // A cluster with no uuid yet: the connected client's answer will not change, so not waited for.
          server = 'cluster';
          const key = aliasKey(engine, t, o.engineUrl);
          server = 'database';
          const watchLock = await unlessStopped(
            withPgRetry(() => RunLock.acquire(o.databaseUrl, o.timeouts, o.wait ?? false, aliasLock('watch', key.cluster, key.alias)), once),
            signal,
          );
          const retry: RetryPolicy = {
            ...o.retry,
            signal,
            log: (m) => o.retry.log?.(`${t.index}: ${m}`),
            // A retry under way is a cycle failing: /healthz says so now, not when the budget is spent.
            onRetry: (m) => health.retrying(t.spec.name, m),
          };
          kept.push({
            choice: t,
            key,
            watchLock,
            session: new LockSession(o.databaseUrl, o.timeouts),
            wake: poller.subscribe(t.spec.name, t.spec.queue),
            options: { ...o, engine, retry },
          });
        }
        metrics.setEngine(engine.kind);
        health.starting(undefined);
        if (backoff > 0) o.log('start-up: connected; the watch is running');
        return true;
      } catch (err) {
        if (signal.aborted) return false;
        if (server === 'cluster' || !isOutage(err)) throw err;
        metrics.failures.inc({ kind: 'outage' });
        totals.failures++;
        const reason = `${server} unreachable: ${(toMoviesError(err) as Error).message}`;
        health.starting(reason);
        backoff = Math.min(MAX_BACKOFF_MS, Math.max(1_000, backoff * 2));
        o.log(`start-up: ${reason}; next attempt in ${backoff / 1000} s`);
        if (await sleep(backoff, signal).then(() => false, () => true)) return false;
      }
    }
  };

  /** One index's cycles, until the watch ends. */
  const keep = async (k: Kept): Promise<void> => {
    const name = k.choice.spec.name;
    let backoff = 0;
    let streak: number | undefined;
    let lastStart = -Infinity;
    while (!signal.aborted) {
      // Under a steady stream of writes, cycles start at most every CYCLE_SPACING_MS (see there).
      const early = lastStart + CYCLE_SPACING_MS - performance.now();
      if (early > 0 && (await sleep(early, signal).then(() => false, () => true))) break;
      lastStart = performance.now();
      const cycleStart = new Date();
      const t0 = performance.now();
      try {
        await k.watchLock.ensureHeld().catch(tookOver);
        const r = await runIndex(k.options, k.choice, (lock) => k.session.take(lock), { record: false });
        // The queue the poller looks at for this index (the live target changes with a rebuild).
        k.wake.target = r.target;
        metrics.setQueue(name, r.pendingAfter, r.lagSeconds);
        metrics.indexed.inc({ index: name }, r.indexed);
        metrics.deleted.inc({ index: name }, r.deleted);
        totals.indexed += r.indexed;
        totals.deleted += r.deleted;
        const work = r.indexed + r.deleted + r.rejected;
        // After a failure streak the success is recorded even with nothing to do, so that `status` sees the recovery.
        if (work > 0 || streak !== undefined) await withPgRetry(() => recordFinishedRun(o.db, k.choice.index, r.target, cycleStart, r), k.options.retry);
        streak = undefined;
        backoff = 0;
        health.succeeded(name);
        metrics.lastSuccess.setToCurrentTime();
        if (work > 0) {
          const seconds = (performance.now() - t0) / 1000;
          totals.cycles++;
          metrics.cycles.observe(seconds);
          o.log(
            `${k.choice.index}: indexed ${r.indexed}, deleted ${r.deleted}${r.rejected ? `, rejected ${r.rejected}` : ''}; ` +
              `lag ${r.lagSeconds.toFixed(2)} s; cycle ${(seconds * 1000).toFixed(0)} ms`,
          );
        }
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof TakenOver) {
          fatal ??= err;
          ending.abort('another watch took over');
          break;
        }
        const kind = failureKind(err);
        metrics.failures.inc({ kind });
        totals.failures++;
        if (err instanceof LockedError && kind === 'locked') {
          // init-es is moving the alias, or a one-shot run from before the watch is finishing.
          await sleep(LOCKED_RETRY_MS, signal).catch(() => undefined);
          continue;
        }
        const reason = `${kind}: ${(err as Error).message}`;
        health.failed(name, reason);
        streak = await recordStreak(o.db, k, streak, cycleStart, reason);
        backoff = Math.min(MAX_BACKOFF_MS, Math.max(1_000, backoff * 2));
        o.log(`${k.choice.index}: cycle failed (${kind}): ${(err as Error).message}; next attempt in ${backoff / 1000} s`);
        await sleep(backoff, signal).catch(() => undefined);
        continue;
      }
      if ((await k.wake.wait(o.pollIntervalMs, signal)) === 'stopped') break;
    }
  };

  try {
    if (o.metricsPort !== undefined) server = await serveMetrics(metrics, o.metricsHost, o.metricsPort, () => health.check());
    if (!(await start())) return { ...totals, seconds: (performance.now() - started) / 1000 };
    if (server) {
      readers.push(readQueues(o.db, kept.map((k) => ({ name: k.choice.spec.name, queue: k.choice.spec.queue, cluster: k.key.cluster, alias: k.key.alias })), metrics));
    }
    readers.push(
      startCollector(o.capture, {
        log: o.log,
        metrics,
        health,
        maxSlotLag: o.maxSlotLag,
        fatal: (err) => {
          fatal ??= err;
          ending.abort('capture lost');
        },
      }),
    );
    poller.start();
    // keep() catches every failure of a cycle; one of the loop itself is a bug, reported as such.
    const all = Promise.all(kept.map(keep)).catch((err: unknown) => {
      fatal ??= err;
      ending.abort('the watch failed');
    });
    await new Promise<void>((resolve) => {
      void all.then(() => resolve());
      signal.addEventListener('abort', () => setTimeout(resolve, CYCLE_STOP_BOUND_MS), { once: true });
    });
    if (fatal) throw fatal;
  } finally {
    await Promise.all(readers.map((r) => r.stop()));
    server?.close();
    // Connections still open (a slow or stuck client) would keep the process alive after the watch.
    server?.closeAllConnections();
    await poller.close();
    await Promise.all(kept.map((k) => k.session.close()));
    for (const k of kept) await k.watchLock.release();
  }
  totals.seconds = (performance.now() - started) / 1000;
  return totals;
}

/** The failing cycle in the run history (one row per streak), within a bound; the streak's row id. */
async function recordStreak(db: Db, k: Kept, streak: number | undefined, started: Date, reason: string): Promise<number | undefined> {
  let id = streak;
  const recording = (async () => {
    // The alias's live target, which `status` judges; none when the index was never built here.
    const target = await liveTarget(db, k.key);
    if (target) id = await recordFailingCycle(db, streak, k.choice.index, target.id, started, reason);
  })();
  await settlesWithin(RECORD_BOUND_MS, recording);
  return id;
}
