import type { CaptureContext } from '../capture/mode.js';
import { followAll } from '../capture/modes.js';
import { captureProblem, captureStatus } from '../capture/status.js';
import type { SlotLagLimit } from '../config/types.js';
import { settlesWithin, sleep } from '../core/retry.js';
import type { WatchMetrics } from './metrics.js';
import type { WatchHealth } from './health.js';

const STOP_BOUND_MS = 5_000;
/** How often the slot's figures (retained WAL, lag) are read for /metrics and /healthz. */
const SLOT_READ_MS = 1_000;

/**
 * A watch's collector: keeps captured changes moving into the queues (src/capture/; logical
 * capture streams its slot), where the poller sees them and wakes the indexes, and reads the
 * slot's figures into /metrics and /healthz. A lost slot ends the watch (exit 13): only a
 * rebuild from the database is exact.
 */
export function startCollector(
  c: CaptureContext,
  o: { log(message: string): void; fatal(err: unknown): void; metrics: WatchMetrics; health: WatchHealth; maxSlotLag?: SlotLagLimit },
): { stop(): Promise<void> } {
  const stopping = new AbortController();
  const follower = followAll(c, { log: o.log, fatal: o.fatal });
  const readings = (async () => {
    while (!stopping.signal.aborted) {
      await readSlot(c, o).catch(() => undefined);
      await sleep(SLOT_READ_MS, stopping.signal).catch(() => undefined);
    }
  })();
  return {
    stop: async () => {
      stopping.abort();
      await settlesWithin(STOP_BOUND_MS, Promise.all([follower.stop(), readings]));
    },
  };
}

/** The slot's figures into the gauges, and its problem (lost, past --max-slot-lag) into /healthz. */
async function readSlot(c: CaptureContext, o: { metrics: WatchMetrics; health: WatchHealth; maxSlotLag?: SlotLagLimit }): Promise<void> {
  const s = await captureStatus(c.db);
  o.metrics.slotRetained.set(s.slot?.retainedBytes ?? 0);
  o.metrics.slotLag.set(s.slot?.lagBytes ?? 0);
  o.metrics.slotLost.set(s.slot?.lost ? 1 : 0);
  o.health.capture(captureProblem(s, o.maxSlotLag)?.message);
}
