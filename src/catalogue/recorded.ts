import { isDeepStrictEqual } from 'node:util';
import type { Knex } from 'knex';
import { UsageError } from '../core/errors.js';
import type { Catalogue } from './layout.js';

/** Records the catalogue whose capture `migrate` installed (in the caller's transaction). */
export async function recordCatalogue(trx: Knex.Transaction, cat: Catalogue): Promise<void> {
  await trx.raw(
    `INSERT INTO movies.catalogue (schema_name, layout_name, layout) VALUES (?, ?, ?::jsonb)
     ON CONFLICT (one) DO UPDATE SET schema_name = excluded.schema_name, layout_name = excluded.layout_name,
       layout = excluded.layout, installed_at = clock_timestamp()`,
    [cat.schema, cat.layoutName, JSON.stringify(cat.layout)],
  );
}

/**
 * Refuses to work on a catalogue other than the one `migrate` installed capture for: documents
 * would be read from tables whose changes nobody captures. Nothing recorded (not migrated yet):
 * the command's own checks say so.
 */
export async function assertRecordedCatalogue(db: Knex, cat: Catalogue): Promise<void> {
  const rec = await recordedCatalogue(db);
  if (!rec) return;
  if (rec.schema_name !== cat.schema || !isDeepStrictEqual(rec.layout, cat.layout)) {
    throw new UsageError(
      `this database's capture was installed for the catalogue in schema ${rec.schema_name} with layout ${rec.layout_name}, ` +
        `not schema ${cat.schema} with layout ${cat.layoutName}: give the same --schema and --catalogue (or MOVIES_SCHEMA, MOVIES_CATALOGUE), ` +
        'or run `movies migrate` with the new layout to install capture for it',
    );
  }
}

/**
 * migrate may re-render capture for a changed layout of the same schema (a renamed column), but
 * never quietly move to another schema: on an empty one it would create a second catalogue
 * and leave the first uncaptured.
 */
export async function assertSameSchema(db: Knex, cat: Catalogue): Promise<void> {
  const rec = await recordedCatalogue(db);
  if (rec && rec.schema_name !== cat.schema) {
    throw new UsageError(
      `this database's catalogue is in schema ${rec.schema_name} (layout ${rec.layout_name}), not ${cat.schema}: give --schema ${rec.schema_name} ` +
        `(or MOVIES_SCHEMA), or run \`movies detach\` first to attach to schema ${cat.schema} instead`,
    );
  }
}

async function recordedCatalogue(db: Knex): Promise<{ schema_name: string; layout_name: string; layout: unknown } | undefined> {
  const r = await db.raw<{ rows: Array<{ schema_name: string; layout_name: string; layout: unknown }> }>(
    "SELECT schema_name, layout_name, layout FROM movies.catalogue WHERE to_regclass('movies.catalogue') IS NOT NULL",
  ).catch((err: { code?: string }) => {
    if (err.code === '42P01' || err.code === '3F000') return { rows: [] };
    throw err;
  });
  return r.rows[0];
}
