import type { Knex } from 'knex';
import { OWN_SCHEMA } from '../../catalogue/names.js';
import { QUEUES } from '../queues.js';
import { legacySource } from './index.js';

/*
 * Databases made by movies before it kept its objects apart (everything in schema content,
 * migrations recorded in public.movies_migrations): bring them to the last of those migrations
 * (008), then move movies' own tables and sequences to schema movies, with their rows (pending
 * changes, targets, runs survive the upgrade), and drop the old capture functions with their
 * triggers; `migrate` then installs the capture of the current catalogue. The catalogue tables
 * that 001 created stay where they are, and are adopted like any other.
 */
const LEGACY_TABLE = 'movies_migrations';

export async function isLegacy(db: Knex): Promise<boolean> {
  const r = await db.raw<{ rows: Array<{ t: string | null }> }>(`SELECT to_regclass('public.${LEGACY_TABLE}')::text AS t`);
  return r.rows[0]!.t !== null;
}

export async function relocateLegacy(db: Knex): Promise<void> {
  await db.migrate.latest({ migrationSource: legacySource, schemaName: 'public', tableName: LEGACY_TABLE });
  const tables = ['etl_target', 'etl_run', 'etl_saved_settings', ...QUEUES.flatMap((q) => [q.table, q.table.replace(/_change$/, '_rejected')])];
  const sequences = QUEUES.map((q) => q.table.replace(/_change$/, '_change_seq'));
  await db.transaction(async (trx) => {
    await trx.raw(`CREATE SCHEMA IF NOT EXISTS ${OWN_SCHEMA}`);
    // SET SCHEMA moves a table's indexes, constraints and serial sequences with it; the queues' version sequences are their own.
    for (const t of tables) await trx.raw(`ALTER TABLE content.${t} SET SCHEMA ${OWN_SCHEMA}`);
    for (const s of sequences) await trx.raw(`ALTER SEQUENCE content.${s} SET SCHEMA ${OWN_SCHEMA}`);
    // CASCADE takes the triggers that call them.
    await trx.raw(`DROP FUNCTION content.capture_film_work(), content.capture_film_work_link(), content.capture_rename(),
      content.capture_genre_doc(), content.capture_person_doc(), content.capture_person_link(),
      content.enqueue_film_works(uuid[]), content.enqueue_genres(uuid[]), content.enqueue_persons(uuid[]) CASCADE`);
    await trx.raw(`DROP TABLE public.${LEGACY_TABLE}, public.${LEGACY_TABLE}_lock`);
  });
}
