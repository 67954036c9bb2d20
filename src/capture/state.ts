import type { Db } from '../db/knex.js';
import type { Knex } from 'knex';
import type { CaptureName } from './mode.js';

/** This database's capture, as `movies migrate` recorded it (migration 004). */
export interface CaptureState {
  mode: CaptureName;
  slot: string | null;
  publication: string | null;
  /** Logical mode: the end of the last slot transaction whose changes are in the queues. */
  appliedLsn: string | null;
  appliedAt: string | null;
}

/** The recorded capture; triggers for a database migrated before migration 004 had run. */
export async function captureState(db: Db | Knex.Transaction): Promise<CaptureState> {
  const exists = await db.raw<{ rows: Array<{ t: string | null }> }>("SELECT to_regclass('movies.capture')::text AS t");
  if (exists.rows[0]!.t === null) return { mode: 'triggers', slot: null, publication: null, appliedLsn: null, appliedAt: null };
  const r = await db.raw<{ rows: Array<{ mode: CaptureName; slot: string | null; publication: string | null; applied_lsn: string | null; applied_at: Date | null }> }>(
    `SELECT mode, slot, publication, applied_lsn::text, applied_at FROM movies.capture`,
  );
  const row = r.rows[0]!;
  return {
    mode: row.mode,
    slot: row.slot,
    publication: row.publication,
    appliedLsn: row.applied_lsn,
    appliedAt: row.applied_at ? new Date(row.applied_at).toISOString() : null,
  };
}

/** The mode `migrate` installed last (in the caller's transaction). */
export async function recordMode(db: Db | Knex.Transaction, mode: CaptureName): Promise<void> {
  await db.raw('UPDATE movies.capture SET mode = ?, since = clock_timestamp()', [mode]);
}

/** The slot logical capture reads (null: none), with nothing of it applied yet. */
export async function recordSlot(db: Db | Knex.Transaction, slot: string | null, publication: string | null): Promise<void> {
  await db.raw('UPDATE movies.capture SET slot = ?, publication = ?, applied_lsn = NULL, applied_at = NULL', [slot, publication]);
}
