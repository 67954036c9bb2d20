import type { Db } from '../db/knex.js';
import type { Catalogue } from '../catalogue/layout.js';
import { OWN_SCHEMA, type Names } from '../catalogue/names.js';
import { inspectCatalogue } from '../catalogue/check.js';
import { createCatalogue } from '../catalogue/create.js';
import { assertSameSchema, recordCatalogue } from '../catalogue/recorded.js';
import { installCapture } from '../capture/triggers.js';
import { isLegacy, relocateLegacy } from '../db/legacy/relocate.js';

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
}

// Installing a trigger takes a lock that writers of the table wait behind: give up soon rather
// than stall the application behind a long transaction (migrate can simply be run again).
const INSTALL_LOCK_TIMEOUT = '5s';

/**
 * Adopts the catalogue (or creates its tables on an empty schema), then brings movies' own
 * objects up to date: its tables in schema movies, and capture on the catalogue's tables.
 * The catalogue's columns are checked before anything is changed.
 */
export async function migrate(o: { db: Db; catalogue: Catalogue; names: Names }): Promise<MigrateResult> {
  await assertSameSchema(o.db, o.catalogue);
  const state = await inspectCatalogue(o.db, o.catalogue);
  const relocated = await isLegacy(o.db);
  if (relocated) await relocateLegacy(o.db);
  await o.db.raw(`CREATE SCHEMA IF NOT EXISTS ${OWN_SCHEMA}`);
  const [, applied] = (await o.db.migrate.latest()) as [number, string[]];
  await o.db.transaction(async (trx) => {
    await trx.raw(`SET LOCAL lock_timeout = '${INSTALL_LOCK_TIMEOUT}'`);
    if (state.kind === 'absent') await createCatalogue(trx, o.catalogue);
    await installCapture(trx, o.names);
    await recordCatalogue(trx, o.catalogue);
  });
  const [completed] = (await o.db.migrate.list()) as [Array<{ name: string } | string>, unknown];
  return {
    catalogue: { schema: o.catalogue.schema, layout: o.catalogue.layoutName },
    created: state.kind === 'absent',
    relocated,
    applied,
    current: completed.map((m) => (typeof m === 'string' ? m : m.name)),
  };
}
