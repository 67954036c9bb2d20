import type { CaptureContext, Collected } from '../capture/mode.js';
import { CaptureLostError } from '../errors.js';
import { settlesWithin, sleep } from '../retry.js';
import { IDLE_POLL_MS, QUIET_AFTER_MS, WAKE_POLL_MS } from './poller.js';

const MAX_BACKOFF_MS = 30_000;
const STOP_BOUND_MS = 5_000;

/**
 * A watch's collector: moves captured changes into the queues (src/capture/; the slot's, in
 * logical mode) as often as the poller looks at the queues, which then wakes the indexes. With
 * trigger capture each collect returns at once. A failure (PostgreSQL down) is logged and retried
 * with a backoff; a lost slot ends the watch (exit 13): only a rebuild from the database is exact.
 */
export function startCollector(
  c: CaptureContext,
  o: { collect(c: CaptureContext): Promise<Collected>; log(message: string): void; fatal(err: unknown): void },
): { stop(): Promise<void> } {
  const stopping = new AbortController();
  const loop = (async () => {
    let lastChange = performance.now();
    let backoff = 0;
    while (!stopping.signal.aborted) {
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
