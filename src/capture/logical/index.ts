import type { Db } from '../../db/knex.js';
import { UsageError } from '../../core/errors.js';
import { ident } from '../../catalogue/names.js';
import { ENTITY_NAMES } from '../../catalogue/layout.js';
import type { CaptureContext, CaptureMode } from '../mode.js';
import { captureState, recordMode, recordSlot } from '../state.js';
import { TRIGGER_LOCK_TIMEOUT } from '../triggers/index.js';
import { collectLogical } from './collect.js';
import { lockCollectors } from './apply.js';
import { followSlot } from './stream.js';
import { checkLogical } from './requirements.js';
import { copyRows } from './rows.js';
import { createSlot, dropSlot, PUBLICATION, slotInfo, slotNameFor } from './slot.js';

async function ownSlotName(db: Db): Promise<string> {
  const recorded = (await captureState(db)).slot;
  if (recorded) return recorded;
  const r = await db.raw<{ rows: Array<{ oid: number }> }>('SELECT oid::int AS oid FROM pg_database WHERE datname = current_database()');
  return slotNameFor(r.rows[0]!.oid);
}

async function publicationExists(db: Db): Promise<boolean> {
  return (await db.raw<{ rows: unknown[] }>('SELECT 1 FROM pg_publication WHERE pubname = ?', [PUBLICATION])).rows.length > 0;
}

/** The publication lists exactly the catalogue's tables (a layout changed by migrate changes it too). */
async function publish(c: CaptureContext): Promise<void> {
  const tables = ENTITY_NAMES.map((e) => c.names.t[e]).join(', ');
  const exists = await publicationExists(c.db);
  await c.db.transaction(async (trx) => {
    await trx.raw(`SET LOCAL lock_timeout = '${TRIGGER_LOCK_TIMEOUT}'`);
    await trx.raw(exists ? `ALTER PUBLICATION ${ident(PUBLICATION)} SET TABLE ${tables}` : `CREATE PUBLICATION ${ident(PUBLICATION)} FOR TABLE ${tables}`);
  });
}

async function removeAll(db: Db): Promise<void> {
  await dropSlot(db, await ownSlotName(db));
  if (await publicationExists(db)) await db.raw(`DROP PUBLICATION ${ident(PUBLICATION)}`);
}

/**
 * Capture from the write-ahead log (./collect.ts): a publication of the catalogue's tables and a
 * logical replication slot (pgoutput), no trigger. The writers pay nothing beyond their WAL; the
 * server keeps WAL for the slot until movies has read it (status reports how much).
 */
export const logicalCapture: CaptureMode = {
  name: 'logical',
  check: async (c) => checkLogical(c.db, c.catalogue, await ownSlotName(c.db)),
  start: async (c) => {
    const state = await captureState(c.db);
    const slot = await ownSlotName(c.db);
    await publish(c);
    const info = await slotInfo(c.db, slot);
    if (state.slot === slot && info && info.walStatus !== 'lost') {
      await recordMode(c.db, 'logical');
      return;
    }
    // A slot of ours nobody recorded (a migrate killed before it committed), or one the server invalidated.
    if (info) await dropSlot(c.db, slot);
    await createSlot(c.databaseUrl, c.timeouts, c.db, slot, (snapshot) =>
      c.db.transaction(
        async (trx) => {
          await trx.raw(`SET TRANSACTION SNAPSHOT '${snapshot.replace(/'/g, "''")}'`);
          await copyRows(trx, c.names);
          await recordSlot(trx, slot, PUBLICATION);
          await recordMode(trx, 'logical');
        },
        { isolationLevel: 'repeatable read' },
      ),
    );
  },
  stop: async (c) => {
    // Everything the slot holds reaches the queues first: the triggers capture what comes after.
    await collectLogical(c);
    const slot = await ownSlotName(c.db);
    await c.db.transaction(async (trx) => {
      // Held by every collector's write: none applies a batch to a slot this forgets.
      await lockCollectors(trx);
      await recordSlot(trx, null, null);
      await trx.raw('DELETE FROM movies.capture_row');
    });
    await dropSlot(c.db, slot);
    if (await publicationExists(c.db)) await c.db.raw(`DROP PUBLICATION ${ident(PUBLICATION)}`);
  },
  collect: collectLogical,
  follow: followSlot,
  recover: async (c, everyIndex) => {
    const s = await captureState(c.db);
    if (!s.slot) return;
    const info = await slotInfo(c.db, s.slot);
    if (info && info.walStatus !== 'lost') return;
    if (!everyIndex) {
      throw new UsageError(`replication slot ${s.slot} was lost, so every index may miss changes: run \`movies init-es\` for every index this database keeps (without --only, or with all of them)`);
    }
    // A new slot first: the rebuild that follows reads the catalogue after its starting point.
    await logicalCapture.start(c);
  },
  added: async (db) => {
    const out: string[] = [];
    if (await publicationExists(db)) out.push(`publication ${PUBLICATION}`);
    const slot = await ownSlotName(db).catch(() => undefined);
    if (slot && (await slotInfo(db, slot))) out.push(`replication slot ${slot}`);
    return out;
  },
  remove: removeAll,
};
