import { CaptureLostError, WaitTimedOutError } from '../../core/errors.js';
import { sleep } from '../../core/retry.js';
import type { CaptureContext, Collected } from '../mode.js';
import { captureState } from '../state.js';
import { lsnValue } from './lsn.js';
import { lostMessage, slotInfo } from './slot.js';
import { streamUntil } from './stream.js';

/**
 * Moves the slot's committed transactions into the queues, up to the position the server had
 * flushed when called: by streaming the slot until that position (./stream.ts), or, while a
 * watch streams it, by waiting for the watch to get past it. Each applied group of transactions
 * is one transaction of ours (queue rows, capture_row, applied_lsn), and the server is told the
 * position only after it committed: a process killed at any point finds the rest in the slot
 * again, and skips what applied_lsn covers.
 *
 * pg-logical-replication's stream, not SQL peeks (pg_logical_slot_peek_binary_changes): a peek
 * re-decodes from the slot's restart point at every call, which a long transaction holds back
 * (bench/slot-read.ts, 200k single-row transactions: 15.7k changes/s by peeks with one open,
 * 132k by the stream; 35.7k against 122k without).
 */
export async function collectLogical(c: CaptureContext): Promise<Collected> {
  const s = await captureState(c.db);
  // No slot: never logical, or switched back to triggers (which collected the slot before dropping it).
  if (!s.slot || !s.publication) return { transactions: 0, changes: 0, complete: true };
  const info = await slotInfo(c.db, s.slot);
  if (!info || info.walStatus === 'lost') throw new CaptureLostError(lostMessage(s.slot, info !== undefined));
  const upto = (await c.db.raw<{ rows: Array<{ lsn: string }> }>('SELECT pg_current_wal_flush_lsn()::text AS lsn')).rows[0]!.lsn;
  if (info.confirmedLsn && lsnValue(info.confirmedLsn) >= lsnValue(upto)) return { transactions: 0, changes: 0, complete: true };
  const streamed = info.active ? null : await streamUntil(c, s.slot, s.publication, upto);
  if (streamed) return streamed;
  // A watch streams the slot (./stream.ts): it moves what this call needs into the queues itself.
  await streamedPast(c, upto);
  return { transactions: 0, changes: 0, complete: true };
}

/** How often a call waits for a streaming watch to pass its position, and for how long at most. */
const STREAMED_POLL_MS = 50;

/**
 * Waits until the process that streams the slot (a watch) has confirmed `lsn`: everything
 * committed before it is then in the queues. Bounded by the statement bound (a watch confirms
 * an idle position within a second or two).
 */
async function streamedPast(c: CaptureContext, lsn: string): Promise<void> {
  const deadline = performance.now() + c.timeouts.statementMs;
  for (;;) {
    const s = await captureState(c.db);
    const info = s.slot ? await slotInfo(c.db, s.slot) : undefined;
    if (info?.confirmedLsn && lsnValue(info.confirmedLsn) >= lsnValue(lsn)) return;
    // Not streamed any more (the watch stopped, or a switch dropped the slot): read it here.
    if (!info?.active) {
      await collectLogical(c);
      return;
    }
    if (performance.now() > deadline) {
      throw new WaitTimedOutError(
        `a process reading replication slot ${s.slot} (pid ${info.activePid ?? '?'}, a watch?) did not get past ${lsn} within ${Math.round(c.timeouts.statementMs / 1000)} s`,
      );
    }
    await sleep(STREAMED_POLL_MS, c.signal);
  }
}


