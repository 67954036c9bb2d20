import type { Db } from '../db/knex.js';
import { targetQueues } from '../db/queue-stats.js';
import type { IndexSpec } from '../indexes/spec.js';
import { settlesWithin, sleep } from '../retry.js';
import type { WatchMetrics } from './metrics.js';

/** How often a watch reads every target's queue for /metrics: a count per target, so not every cycle. */
export const TARGET_QUEUE_READ_MS = 10_000;
const STOP_BOUND_MS = 2_000;

/**
 * Reads the queues of every target of the watched indexes on a timer of its own, apart from the
 * cycles: a failing cycle (the engine down, a retry budget being spent) does not stop the
 * reading, and a burst of cycles does not multiply it. A reading that fails (PostgreSQL down)
 * keeps the previous one, whose oldest change goes on ageing in the gauge.
 */
export function readTargetQueues(db: Db, specs: readonly IndexSpec[], metrics: WatchMetrics, everyMs = TARGET_QUEUE_READ_MS): { stop(): Promise<void> } {
  const stopping = new AbortController();
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      for (const spec of specs) {
        try {
          metrics.setTargetQueues(spec.name, await targetQueues(db, spec.queue, spec.name));
        } catch {
          // The cycle reports the outage; this reading waits for the next round.
        }
      }
      await sleep(everyMs, stopping.signal).catch(() => undefined);
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await settlesWithin(STOP_BOUND_MS, loop);
    },
  };
}
