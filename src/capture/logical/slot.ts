import pg from 'pg';
import type { Knex } from 'knex';
import type { Db } from '../../db/knex.js';
import { endClient, pgConnectionOptions } from '../../db/knex.js';
import type { Timeouts } from '../../config/types.js';

/** The publication of the catalogue's tables (one per database) and the slot's name (slots are per server, so it carries the database's oid). */
export const PUBLICATION = 'movies_capture';
export const slotNameFor = (databaseOid: number): string => `movies_capture_${databaseOid}`;

export interface SlotInfo {
  name: string;
  /** reserved, extended, unreserved or lost (PostgreSQL 13+); lost: the server removed WAL the slot needed. */
  walStatus: string | null;
  /** WAL the server keeps for the slot (bytes): from its restart point to the current position. */
  retainedBytes: number;
  /** WAL not yet confirmed by movies (bytes). */
  lagBytes: number;
  confirmedLsn: string | null;
  /** Whether a process reads it now, and which. */
  active: boolean;
  activePid: number | null;
}

export async function slotInfo(db: Db | Knex.Transaction, slot: string): Promise<SlotInfo | undefined> {
  const r = await db.raw<{ rows: Array<{ wal_status: string | null; retained: string | null; lag: string | null; confirmed: string | null; active: boolean; active_pid: number | null }> }>(
    `SELECT wal_status, active, active_pid, confirmed_flush_lsn::text AS confirmed,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained,
            pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag
     FROM pg_replication_slots WHERE slot_name = ?`,
    [slot],
  );
  const s = r.rows[0];
  if (!s) return undefined;
  return {
    name: slot,
    walStatus: s.wal_status,
    retainedBytes: Number(s.retained ?? 0),
    lagBytes: Number(s.lag ?? 0),
    confirmedLsn: s.confirmed,
    active: s.active,
    activePid: s.active_pid,
  };
}

/**
 * Creates the slot on a replication connection and runs `withSnapshot` with the snapshot the
 * slot starts from: what `withSnapshot` reads (in a transaction that imported it) is exactly
 * the catalogue before the slot's first change. The slot is dropped again if `withSnapshot` fails.
 */
export async function createSlot(databaseUrl: string, t: Timeouts, db: Db, slot: string, withSnapshot: (snapshot: string) => Promise<void>): Promise<void> {
  const client = new pg.Client({ ...pgConnectionOptions(databaseUrl, t, 'movies capture'), replication: 'database' } as pg.ClientConfig);
  await client.connect();
  try {
    // EXPORT_SNAPSHOT: the syntax every server since 10 accepts (15 added "(SNAPSHOT 'export')").
    const r = await client.query<{ snapshot_name: string }>(`CREATE_REPLICATION_SLOT "${slot}" LOGICAL pgoutput EXPORT_SNAPSHOT`);
    try {
      await withSnapshot(r.rows[0]!.snapshot_name);
    } catch (err) {
      await endClient(client, t.connectMs);
      await dropSlot(db, slot).catch(() => undefined);
      throw err;
    }
  } finally {
    await endClient(client, t.connectMs);
  }
}

/** Drops the slot, ending the session that streams it first (a watch then finds no slot recorded and waits). */
export async function dropSlot(db: Db | Knex.Transaction, slot: string): Promise<void> {
  await db.raw('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = ? AND active_pid IS NOT NULL', [slot]);
  for (let i = 0; ; i++) {
    try {
      await db.raw('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ?', [slot]);
      return;
    } catch (err) {
      // The ended session may hold the slot for a moment still (55006: object in use).
      if ((err as { code?: string }).code !== '55006' || i >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A lost slot's message: invalidated by the server, or gone. */
export function lostMessage(slot: string, invalidated: boolean): string {
  return invalidated
    ? `the server invalidated replication slot ${slot} (it kept more WAL than max_slot_wal_keep_size allows): changes made since may be missing from the queues; run \`movies init-es\` to rebuild every index from the database`
    : `replication slot ${slot} is gone (dropped by hand?): changes made since may be missing from the queues; run \`movies init-es\` to rebuild every index from the database`;
}
