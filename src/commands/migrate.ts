import type { Db } from '../db/knex.js';
import type { Catalogue } from '../catalogue/layout.js';
import { OWN_SCHEMA, type Names } from '../catalogue/names.js';
import { inspectCatalogue } from '../catalogue/check.js';
import { createCatalogue } from '../catalogue/create.js';
import { assertSameSchema, recordCatalogue } from '../catalogue/recorded.js';
import { isLegacy, relocateLegacy } from '../db/legacy/relocate.js';
import type { Timeouts } from '../config/types.js';
import type { CaptureContext, CaptureName } from '../capture/mode.js';
import { CAPTURE_MODES } from '../capture/modes.js';
import { captureState } from '../capture/state.js';
import { TRIGGER_LOCK_TIMEOUT } from '../capture/triggers/index.js';

export interface MigrateResult {
  /** Where the catalogue is and which layout it has. */
  catalogue: { schema: string; layout: string };
  /** Whether migrate created the catalogue's tables (an empty schema) or adopted existing ones. */
  created: boolean;
  /** Whether a database of an earlier version had movies' tables moved to schema movies. */
  relocated: boolean;
  applied: string[];
  /** Every migration the database now has. */
  current: string[];
  /** How changes are captured now, and what it was before this migrate (null: nothing was). */
  capture: { mode: CaptureName; previous: CaptureName | null };
}

/**
 * Adopts the catalogue (or creates its tables on an empty schema), then brings movies' own
 * objects up to date: its tables in schema movies, and capture of the catalogue's changes in the
 * chosen mode (`capture`; by default the one recorded, else triggers). The catalogue's columns,
 * and what the mode needs of the server, are checked before anything is changed. Switching
 * modes starts the new one before it stops the old one, so every change made meanwhile is
 * captured (by one of them or both; twice only costs a document written again).
 */
export async function migrate(o: { db: Db; databaseUrl: string; timeouts: Timeouts; catalogue: Catalogue; names: Names; capture?: CaptureName }): Promise<MigrateResult> {
  const c: CaptureContext = { db: o.db, databaseUrl: o.databaseUrl, timeouts: o.timeouts, catalogue: o.catalogue, names: o.names };
  await assertSameSchema(o.db, o.catalogue);
  const state = await inspectCatalogue(o.db, o.catalogue);
  const migrated = (await o.db.raw<{ rows: Array<{ t: string | null }> }>("SELECT to_regclass('movies.capture')::text AS t")).rows[0]!.t !== null;
  // Before migration 004 every database captured by triggers, if it captured at all.
  const previous = migrated ? (await captureState(o.db)).mode : (await CAPTURE_MODES.triggers.added(o.db)).length ? 'triggers' : null;
  const chosen = CAPTURE_MODES[o.capture ?? previous ?? 'triggers'];
  await chosen.check(c);
  const relocated = await isLegacy(o.db);
  if (relocated) await relocateLegacy(o.db);
  await o.db.raw(`CREATE SCHEMA IF NOT EXISTS ${OWN_SCHEMA}`);
  const [, applied] = (await o.db.migrate.latest()) as [number, string[]];
  await o.db.transaction(async (trx) => {
    await trx.raw(`SET LOCAL lock_timeout = '${TRIGGER_LOCK_TIMEOUT}'`);
    if (state.kind === 'absent') await createCatalogue(trx, o.catalogue);
    await recordCatalogue(trx, o.catalogue);
  });
  await chosen.start(c);
  for (const other of Object.values(CAPTURE_MODES)) if (other !== chosen) await other.stop(c);
  const [completed] = (await o.db.migrate.list()) as [Array<{ name: string } | string>, unknown];
  return {
    catalogue: { schema: o.catalogue.schema, layout: o.catalogue.layoutName },
    created: state.kind === 'absent',
    relocated,
    applied,
    current: completed.map((m) => (typeof m === 'string' ? m : m.name)),
    capture: { mode: chosen.name, previous },
  };
}
