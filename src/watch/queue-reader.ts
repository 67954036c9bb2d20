import type { Db } from '../db/knex.js';
import { targetQueues } from '../db/queue-stats.js';
import type { ChangeQueue } from '../indexes/spec.js';
import { settlesWithin, sleep } from '../core/retry.js';
import type { WatchMetrics } from './metrics.js';

/** How often a watch reads each index's queues for its gauges and /healthz. */
export const QUEUE_READ_MS = 1_000;
/** A slow reading (a huge backlog to count) is taken less often: at most this share of the time. */
const MAX_SHARE = 0.1;
const STOP_BOUND_MS = 2_000;

export interface WatchedQueue {
  /** The logical index (the gauges' label). */
  name: string;
  queue: ChangeQueue;
  /** The alias this watch keeps on this cluster: its live target feeds the pending and lag gauges. */
  cluster: string;
  alias: string;
}

/**
 * Reads the queues of every target of each watched index (src/db/queue-stats.ts: a count and
 * one index entry per target) on a timer of its own, apart from the cycles, so that the gauges
 * and the lag /healthz judges by come from the database whenever it answers, whatever the
 * engine does: a cycle retrying a failing engine, or waiting on a hung request, does not freeze
 * them, and a target nobody runs (a retired cluster) shows in the per-target gauges. A reading
 * that fails (PostgreSQL down) keeps the previous one, whose ages go on growing.
 */
export function readQueues(db: Db, watched: readonly WatchedQueue[], metrics: WatchMetrics, everyMs = QUEUE_READ_MS): { stop(): Promise<void> } {
  const stopping = new AbortController();
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      const t0 = performance.now();
      for (const w of watched) {
        try {
          const queues = await targetQueues(db, w.queue, w.name);
          metrics.setTargetQueues(w.name, queues);
          const live = queues.find((q) => q.state === 'live' && q.cluster === w.cluster && q.alias === w.alias);
          metrics.setQueue(w.name, live?.rows ?? 0, live?.oldestChangeSeconds ?? 0);
        } catch {
          // The cycles report the outage; this reading waits for the next round.
        }
      }
      const took = performance.now() - t0;
      await sleep(Math.max(everyMs, took / MAX_SHARE - took), stopping.signal).catch(() => undefined);
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await settlesWithin(STOP_BOUND_MS, loop);
    },
  };
}
