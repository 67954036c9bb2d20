import type { CaptureContext, CaptureMode, CaptureName, Collected } from './mode.js';
import { logicalCapture } from './logical/index.js';
import { triggerCapture } from './triggers/index.js';

/** Every capture mode, by the name `--capture` takes. */
export const CAPTURE_MODES: Record<CaptureName, CaptureMode> = { triggers: triggerCapture, logical: logicalCapture };

/**
 * Moves what every mode captured into the queues: a run calls it before it reads them. Every
 * mode, not only the recorded one: while `migrate` switches from logical to triggers, the slot
 * still holds changes the triggers never saw. Trigger capture has nothing to move.
 */
export async function collectAll(c: CaptureContext): Promise<Collected> {
  const total: Collected = { transactions: 0, changes: 0, complete: true };
  for (const m of Object.values(CAPTURE_MODES)) {
    const r = await m.collect(c);
    total.transactions += r.transactions;
    total.changes += r.changes;
    total.complete &&= r.complete;
  }
  return total;
}

/** Every mode's recovery (src/capture/mode.ts), before `init-es` rebuilds. */
export async function recoverAll(c: CaptureContext, everyIndex: boolean): Promise<void> {
  for (const m of Object.values(CAPTURE_MODES)) await m.recover(c, everyIndex);
}

/** Every mode's follower (a watch's), as one. */
export function followAll(c: CaptureContext, o: { log(message: string): void; fatal(err: unknown): void }): { stop(): Promise<void> } {
  const followers = Object.values(CAPTURE_MODES).map((m) => m.follow(c, o));
  return { stop: async () => void (await Promise.all(followers.map((f) => f.stop()))) };
}
