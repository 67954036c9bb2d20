import type { Db } from '../db/knex.js';
import { aliasLock, LockSession, RunLock } from '../db/lock.js';
import { withPgRetry } from '../db/retry.js';
import { recordFinishedRun } from '../db/runs.js';
import { setWatched } from '../db/targets.js';
import { LockedError } from '../errors.js';
import { aliasKey } from '../lifecycle/resolve.js';
import { settlesWithin, sleep } from '../retry.js';
import { runIndex, type StartEtlOptions } from '../commands/start-etl.js';
import { ChangeListener } from './listener.js';
import { failureKind, serveMetrics, WatchMetrics } from './metrics.js';
import { readTargetQueues } from './target-queues.js';

export interface WatchOptions extends StartEtlOptions {
  /** The safety net for missed notifications: look at the queues at least this often. */
  pollIntervalMs: number;
  /** /healthz answers 503 when the oldest pending change is older than this. */
  maxLagSeconds: number;
  /** Serve /metrics and /healthz on this port. */
  metricsPort?: number;
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

/** After a failed cycle: 1 s, doubling, at most 30 s; reset by a successful cycle. */
const MAX_BACKOFF_MS = 30_000;
const CLEAR_BOUND_MS = 2_000;
/** init-es holds the run lock while it moves the alias (about a second): look again soon. */
const LOCKED_RETRY_MS = 250;

/**
 * `start-etl --watch`: brings every index up to date, then waits for a notification from the
 * capture triggers (or the poll interval), and again, until SIGINT/SIGTERM. It holds each
 * alias's watch lock for as long as it runs (a cron one-shot exits 6) and takes the run lock
 * for each cycle only, so that init-es can move the alias between two cycles. Outages of
 * either server fail a cycle, never the loop: it backs off, reports itself unhealthy, and
 * goes on. Acknowledgement rules are those of every run (src/etl/).
 */
export async function watch(o: WatchOptions): Promise<WatchResult> {
  const started = performance.now();
  const signal = o.retry.signal;
  const keys = o.indexes.map((t) => aliasKey(o.engine, t, o.engineUrl));
  const watchLocks: RunLock[] = [];
  const session = new LockSession(o.databaseUrl, o.timeouts);
  const listener = new ChangeListener(o.databaseUrl, o.timeouts, o.log);
  const metrics = new WatchMetrics();
  const totals: WatchResult = { cycles: 0, indexed: 0, deleted: 0, failures: 0, seconds: 0 };
  let lastError: string | undefined = 'no cycle yet';
  let lag = 0;
  const health = () =>
    lastError !== undefined
      ? { ok: false, reason: lastError }
      : lag > o.maxLagSeconds
        ? { ok: false, reason: `oldest pending change is ${lag.toFixed(1)} s old (--max-lag ${o.maxLagSeconds})` }
        : { ok: true, reason: 'last cycle succeeded' };
  let server: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  let queues: ReturnType<typeof readTargetQueues> | undefined;
  const watched = new Set<number>();
  try {
    for (const k of keys) {
      watchLocks.push(await withPgRetry(() => RunLock.acquire(o.databaseUrl, o.timeouts, o.wait ?? false, aliasLock('watch', k.cluster, k.alias)), o.retry));
    }
    if (o.metricsPort !== undefined) {
      server = await serveMetrics(metrics, o.metricsPort, health);
      queues = readTargetQueues(o.db, o.indexes.map((t) => t.spec), metrics);
    }
    listener.start();
    let backoff = 0;
    while (!signal?.aborted) {
      const cycleStart = new Date();
      const t0 = performance.now();
      try {
        for (const l of watchLocks) await l.ensureHeld().catch(tookOver);
        let work = 0;
        lag = 0;
        const parts: string[] = [];
        for (const t of o.indexes) {
          const r = await runIndex(o, t, (name) => session.take(name), { record: false });
          // Notifications for this index from now on (the live target changes with a rebuild).
          await withPgRetry(() => setWatched(o.db, r.target, true), o.retry);
          watched.add(r.target);
          metrics.pending.set({ index: t.spec.name }, r.pendingAfter);
          metrics.lag.set({ index: t.spec.name }, r.lagSeconds);
          metrics.indexed.inc({ index: t.spec.name }, r.indexed);
          metrics.deleted.inc({ index: t.spec.name }, r.deleted);
          lag = Math.max(lag, r.lagSeconds);
          totals.indexed += r.indexed;
          totals.deleted += r.deleted;
          if (r.indexed + r.deleted + r.rejected > 0) {
            work += r.indexed + r.deleted + r.rejected;
            parts.push(`${t.index}: indexed ${r.indexed}, deleted ${r.deleted}${r.rejected ? `, rejected ${r.rejected}` : ''}`);
            await withPgRetry(() => recordFinishedRun(o.db, t.index, r.target, cycleStart, r), o.retry);
          }
        }
        lastError = undefined;
        backoff = 0;
        metrics.lastSuccess.setToCurrentTime();
        metrics.healthy.set(health().ok ? 1 : 0);
        if (work > 0) {
          const seconds = (performance.now() - t0) / 1000;
          totals.cycles++;
          metrics.cycles.observe(seconds);
          o.log(`${parts.join('; ')}; lag ${lag.toFixed(2)} s; cycle ${(seconds * 1000).toFixed(0)} ms`);
        }
      } catch (err) {
        if (signal?.aborted) break;
        if (err instanceof TakenOver) throw err;
        const kind = failureKind(err);
        metrics.failures.inc({ kind });
        totals.failures++;
        if (err instanceof LockedError && kind === 'locked') {
          // init-es is moving the alias, or a one-shot run from before the watch is finishing.
          await sleep(LOCKED_RETRY_MS, signal).catch(() => undefined);
          continue;
        }
        lastError = `${kind}: ${(err as Error).message}`;
        metrics.healthy.set(0);
        backoff = Math.min(MAX_BACKOFF_MS, Math.max(1_000, backoff * 2));
        o.log(`cycle failed (${kind}): ${(err as Error).message}; next attempt in ${backoff / 1000} s`);
        await sleep(backoff, signal).catch(() => undefined);
        continue;
      }
      if ((await listener.wait(o.pollIntervalMs, signal)) === 'stopped') break;
    }
  } finally {
    // Writers stop paying for notifications nobody listens to; bounded, a one-shot run clears what is left.
    await settlesWithin(CLEAR_BOUND_MS, Promise.all([...watched].map((id) => setWatched(o.db, id, false))).catch(() => undefined));
    await queues?.stop();
    server?.close();
    // Connections still open (a slow or stuck client) would keep the process alive after the watch.
    server?.closeAllConnections();
    await listener.close();
    await session.close();
    for (const l of watchLocks) await l.release();
  }
  totals.seconds = (performance.now() - started) / 1000;
  return totals;
}
