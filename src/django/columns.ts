import type { Knex } from 'knex';
import { InvalidDataError } from '../core/errors.js';
import { MODELS } from './models.js';

/**
 * A catalogue table may have columns movies does not know (Django's indexed_at, say). Reads
 * ignore them; a load can only succeed if each one has a default or accepts NULL. Any that does
 * not fails the load here, after staging and before anything is written to the catalogue,
 * naming schema.table.column (PostgreSQL would otherwise refuse the upsert halfway).
 */
export async function checkUnwrittenColumns(trx: Knex.Transaction, counts: Record<string, number>): Promise<void> {
  const loaded = MODELS.filter((m) => (counts[m.model] ?? 0) > 0);
  if (loaded.length === 0) return;
  const r = await trx.raw<{ rows: Array<{ tbl: string; col: string }> }>(
    `SELECT c.relname AS tbl, a.attname AS col
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'content' AND c.relname = ANY(?) AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = ''
     ORDER BY 1, 2`,
    [loaded.map((m) => m.table)],
  );
  const missing = r.rows.filter((x) => {
    const m = loaded.find((s) => s.table === x.tbl)!;
    return x.col !== 'id' && !m.columns.some((c) => c.name === x.col);
  });
  if (missing.length > 0) {
    throw new InvalidDataError(
      `nothing was loaded: ${missing.map((x) => `content.${x.tbl}.${x.col}`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} NOT NULL without a default, ` +
        'and movies loaddata does not write it; give the column a default, or load the fixture with the application that owns the table (e.g. Django\'s manage.py loaddata)',
    );
  }
}
