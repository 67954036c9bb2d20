import type { Knex } from 'knex';
import { COLLECT_LOCK } from '../../db/lock.js';
import type { CaptureContext } from '../mode.js';
import type { RowChange, SlotTransaction } from './changes.js';
import { FanOut } from './fan-out.js';

/** Changes fanned out per statement group (and per prefetch of capture_row). */
const FAN_OUT_CHANGES = 2_000;

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
  await lockCollectors(trx);
  await fanOutChanges(trx, new FanOut(c.names, c.catalogue), txs.flatMap((t) => t.changes));
  await trx.raw("UPDATE movies.capture SET applied_lsn = greatest(coalesce(applied_lsn, '0/0'::pg_lsn), ?::pg_lsn), applied_at = clock_timestamp()", [end]);
}

/** Waits for the collectors' lock (an advisory one: a look that finds nothing writes nothing), held until the transaction ends. */
export async function lockCollectors(trx: Knex.Transaction): Promise<void> {
  await trx.raw('SELECT pg_advisory_xact_lock(?::bigint)', [COLLECT_LOCK.key]);
}
