import type { Knex } from 'knex';
import { CaptureLostError, WaitTimedOutError } from '../../errors.js';
import { sleep } from '../../retry.js';
import type { CaptureContext, Collected } from '../mode.js';
import { captureState, type CaptureState } from '../state.js';
import { ChangeReader, type RowChange, type SlotTransaction } from './changes.js';
import { FanOut } from './fan-out.js';
import { laterLsn, lsnValue } from './lsn.js';
import { advanceSlot, pgoutputOptions, slotInfo } from './slot.js';
import { COLLECT_LOCK } from '../../db/lock.js';

/**
 * Bounds of one batch, which is one transaction of ours: at most this many slot rows (messages)
 * per peek (PostgreSQL stops after the transaction that crosses it), read through a cursor this
 * many at a time, and applied every FAN_OUT_CHANGES changes, so memory stays bounded however
 * large the backlog.
 */
const PEEK_ROWS = 50_000;
const FETCH_ROWS = 2_000;
const FAN_OUT_CHANGES = 2_000;
/**
 * A collect that applied nothing writes nothing, but records that it read the slot (applied_at,
 * which status's "last read" is) at most this often: an idle watch looks 4 times a second, and
 * each write would cost a WAL flush.
 */
const READ_MARK_MS = 10_000;

/**
 * Moves the slot's committed transactions into the queues, up to the position the server had
 * flushed when called. Each batch is one transaction: it locks movies.capture (one collector at
 * a time), moves the slot up to what the queues already have, peeks the slot (the slot itself
 * moves only when the next batch knows this one committed), writes the queue rows and
 * capture_row, and records the end of the last transaction it applied. Killed at any point, the
 * next collector skips what the queues have and applies the rest.
 *
 * Read by SQL (pg_logical_slot_peek_binary_changes) on a pooled connection, not by a
 * replication stream: the same retry, timeouts and transaction as every other statement, and
 * exactly the peek-apply-commit-advance order the guarantee needs (bench/slot-read.ts compares
 * the two).
 */
export async function collectLogical(c: CaptureContext): Promise<Collected> {
  const total: Collected = { transactions: 0, changes: 0, complete: false };
  for (;;) {
    c.signal?.throwIfAborted();
    const batch = await c.db.transaction((trx) => oneBatch(trx, c));
    total.transactions += batch.transactions;
    total.changes += batch.changes;
    if (batch.streamedBy) {
      await streamedPast(c, batch.streamedBy);
      return { ...total, complete: true };
    }
    if (batch.complete) break;
  }
  // What the last batch applied reaches the slot now (each batch moves it to its predecessor's).
  if (total.transactions > 0) {
    await c.db.transaction(async (trx) => {
      const s = await lockedState(trx);
      if (s.slot && s.appliedLsn) await advanceSlot(trx, s.slot, s.appliedLsn);
    });
  }
  total.complete = true;
  return total;
}

/** A lost slot's message: invalidated by the server, or gone. */
export function lostMessage(slot: string, invalidated: boolean): string {
  return invalidated
    ? `the server invalidated replication slot ${slot} (it kept more WAL than max_slot_wal_keep_size allows): changes made since may be missing from the queues; run \`movies init-es\` to rebuild every index from the database`
    : `replication slot ${slot} is gone (dropped by hand?): changes made since may be missing from the queues; run \`movies init-es\` to rebuild every index from the database`;
}

/** Row changes into the queues and capture_row, FAN_OUT_CHANGES at a time, in the caller's transaction. */
async function fanOutChanges(trx: Knex.Transaction, fanOut: FanOut, changes: RowChange[]): Promise<void> {
  for (let i = 0; i < changes.length; i += FAN_OUT_CHANGES) {
    const part = changes.slice(i, i + FAN_OUT_CHANGES);
    await fanOut.prefetch(trx, part);
    for (const ch of part) fanOut.add(ch);
    await fanOut.write(trx);
  }
}

/**
 * A stream's committed transactions into the queues, and `end` (the last one's) into
 * applied_lsn, in the caller's transaction, under the collectors' lock (./stream.ts).
 */
export async function applyTransactions(trx: Knex.Transaction, c: CaptureContext, txs: SlotTransaction[], end: string): Promise<void> {
  await lockedState(trx);
  await fanOutChanges(trx, new FanOut(c.names, c.catalogue), txs.flatMap((t) => t.changes));
  await trx.raw("UPDATE movies.capture SET applied_lsn = greatest(coalesce(applied_lsn, '0/0'::pg_lsn), ?::pg_lsn), applied_at = clock_timestamp()", [end]);
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
    if (!info?.active || (info.confirmedLsn && lsnValue(info.confirmedLsn) >= lsnValue(lsn))) {
      // Not streamed any more (the watch stopped): the next collect reads the slot itself.
      if (!info?.active && info && info.confirmedLsn && lsnValue(info.confirmedLsn) < lsnValue(lsn)) await collectLogical(c);
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

/** The recorded capture, with the collectors' lock held until the transaction ends. */
async function lockedState(trx: Knex.Transaction): Promise<CaptureState> {
  await trx.raw('SELECT pg_advisory_xact_lock(?::bigint)', [COLLECT_LOCK.key]);
  return captureState(trx);
}

/** A batch's outcome; `streamedBy`: another process streams the slot, and this call waits for it to pass that position. */
type Batch = Collected & { streamedBy?: string };

async function oneBatch(trx: Knex.Transaction, c: CaptureContext): Promise<Batch> {
  const s = await lockedState(trx);
  // No slot: never logical, or switched back to triggers (which collected the slot before dropping it).
  if (!s.slot || !s.publication) return { transactions: 0, changes: 0, complete: true };
  const slot = await slotInfo(trx, s.slot);
  if (!slot || slot.walStatus === 'lost') throw new CaptureLostError(lostMessage(s.slot, slot !== undefined));
  const upto = (await trx.raw<{ rows: Array<{ lsn: string }> }>('SELECT pg_current_wal_flush_lsn()::text AS lsn')).rows[0]!.lsn;
  // A watch streams the slot (./stream.ts): it moves what this call needs into the queues itself.
  if (slot.active) return { transactions: 0, changes: 0, complete: false, streamedBy: upto };
  if (s.appliedLsn) await advanceSlot(trx, s.slot, s.appliedLsn);
  await trx.raw(`DECLARE movies_slot NO SCROLL CURSOR FOR SELECT data FROM pg_logical_slot_peek_binary_changes(?, ?::pg_lsn, ?, ${pgoutputOptions(s.publication).map(() => '?').join(', ')})`, [
    s.slot,
    upto,
    PEEK_ROWS,
    ...pgoutputOptions(s.publication),
  ]);
  const reader = new ChangeReader(c.catalogue, s.publication);
  const fanOut = new FanOut(c.names, c.catalogue);
  const applied = s.appliedLsn ? lsnValue(s.appliedLsn) : -1n;
  let pending: RowChange[] = [];
  let rows = 0;
  let last: string | null = null;
  const result: Batch = { transactions: 0, changes: 0, complete: false };
  const flush = async () => {
    await fanOutChanges(trx, fanOut, pending);
    pending = [];
  };
  for (;;) {
    const page = await trx.raw<{ rows: Array<{ data: Buffer }> }>(`FETCH ${FETCH_ROWS} FROM movies_slot`);
    rows += page.rows.length;
    for (const r of page.rows) {
      const tx = reader.read(r.data);
      if (!tx) continue;
      last = tx.endLsn;
      // Already in the queues (a collector ended between its commit and moving the slot), or nothing of the catalogue's.
      if (lsnValue(tx.endLsn) <= applied || tx.changes.length === 0) continue;
      result.transactions++;
      result.changes += tx.changes.length;
      pending.push(...tx.changes);
      if (pending.length >= FAN_OUT_CHANGES) await flush();
    }
    if (page.rows.length < FETCH_ROWS) break;
  }
  await trx.raw('CLOSE movies_slot');
  if (pending.length) await flush();
  result.complete = rows < PEEK_ROWS;
  // Every transaction up to `upto` has been read when the peek ended before its row bound.
  const reached = result.complete ? laterLsn(upto, last) : last;
  if (reached && lsnValue(reached) > applied) {
    const stale = !s.appliedAt || Date.now() - Date.parse(s.appliedAt) > READ_MARK_MS;
    if (result.transactions > 0 || stale) {
      // Recorded with the queue rows; the slot moves once this has committed (next batch, or collectLogical).
      await trx.raw('UPDATE movies.capture SET applied_lsn = ?::pg_lsn, applied_at = clock_timestamp()', [reached]);
    }
    // Nothing to apply up to `reached`: the slot may move there at once.
    if (result.transactions === 0) await advanceSlot(trx, s.slot, reached);
  }
  return result;
}
