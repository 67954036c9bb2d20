import type { CaptureContext, Collected } from '../capture/mode.js';
import { captureProblem, captureStatus, type SlotLagLimit } from '../capture/status.js';
import type { WatchMetrics } from './metrics.js';
import type { WatchHealth } from './health.js';
import { CaptureLostError } from '../errors.js';
import { settlesWithin, sleep } from '../retry.js';
import { IDLE_POLL_MS, QUIET_AFTER_MS, WAKE_POLL_MS } from './poller.js';

const MAX_BACKOFF_MS = 30_000;
const STOP_BOUND_MS = 5_000;
/** How often the slot's figures (retained WAL, lag) are read for /metrics and /healthz. */
const SLOT_READ_MS = 1_000;

/**
 * A watch's collector: moves captured changes into the queues (src/capture/; the slot's, in
 * logical mode) as often as the poller looks at the queues, which then wakes the indexes. With
 * trigger capture each collect returns at once. A failure (PostgreSQL down) is logged and retried
 * with a backoff; a lost slot ends the watch (exit 13): only a rebuild from the database is exact.
 */
export function startCollector(
  c: CaptureContext,
  o: {
    collect(c: CaptureContext): Promise<Collected>;
    log(message: string): void;
    fatal(err: unknown): void;
    metrics: WatchMetrics;
    health: WatchHealth;
    maxSlotLag?: SlotLagLimit;
  },
): { stop(): Promise<void> } {
  const stopping = new AbortController();
  const loop = (async () => {
    let lastChange = performance.now();
    let backoff = 0;
    let slotRead = -Infinity;
    while (!stopping.signal.aborted) {
      if (performance.now() - slotRead >= SLOT_READ_MS) {
        slotRead = performance.now();
        await readSlot(c, o).catch(() => undefined);
      }
      try {
        const r = await o.collect({ ...c, signal: stopping.signal });
        if (r.transactions > 0) lastChange = performance.now();
        if (backoff > 0) o.log('capture: collecting again');
        backoff = 0;
      } catch (err) {
        if (stopping.signal.aborted) break;
        if (err instanceof CaptureLostError) {
          o.fatal(err);
          break;
        }
        backoff = Math.min(MAX_BACKOFF_MS, Math.max(1_000, backoff * 2));
        o.log(`capture: collecting failed: ${(err as Error).message}; next attempt in ${backoff / 1000} s`);
      }
      const wait = backoff || (performance.now() - lastChange > QUIET_AFTER_MS ? IDLE_POLL_MS : WAKE_POLL_MS);
      await sleep(wait, stopping.signal).catch(() => undefined);
    }
  })();
  return {
    stop: async () => {
      stopping.abort();
      await settlesWithin(STOP_BOUND_MS, loop);
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
