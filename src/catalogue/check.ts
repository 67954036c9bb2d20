import type { Knex } from 'knex';
import { UsageError } from '../core/errors.js';
import { ENTITIES, ENTITY_NAMES, KINDS, type Catalogue, type Entity, type Kind } from './layout.js';

/** PostgreSQL types each kind accepts (pg_type.typname; an ENUM is accepted for a role). */
const ACCEPTS: Record<Kind, readonly string[]> = {
  uuid: ['uuid'],
  text: ['text', 'varchar', 'bpchar', 'citext'],
  float: ['float4', 'float8', 'numeric'],
  date: ['date'],
  timestamp: ['timestamptz', 'timestamp'],
  role: ['text', 'varchar', 'bpchar'],
};

const EXPECTED: Record<Kind, string> = {
  uuid: 'uuid',
  text: 'text or varchar',
  float: 'double precision, real or numeric',
  date: 'date',
  timestamp: 'timestamp with or without time zone',
  role: 'text, varchar or an ENUM',
};

export type CatalogueState = { kind: 'absent' } | { kind: 'present' };

/**
 * What the schema holds of the catalogue: none of its tables (migrate may create them), or all
 * of them with every mapped column of a usable type. Anything else is one usage error naming
 * every schema.table.column that is missing or of another type, what was found and what was
 * expected. Only reads the system catalogs: nothing is locked or changed.
 */
export async function inspectCatalogue(db: Knex | Knex.Transaction, cat: Catalogue): Promise<CatalogueState> {
  const tables = ENTITY_NAMES.map((e) => cat.layout[e].table);
  const r = await db.raw<{ rows: Array<{ tbl: string; col: string; type: string; typtype: string; format: string }> }>(
    `SELECT c.relname AS tbl, a.attname AS col, t.typname AS type, t.typtype, format_type(a.atttypid, a.atttypmod) AS format
     FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     LEFT JOIN pg_type t ON t.oid = a.atttypid
     WHERE n.nspname = ? AND c.relname = ANY(?) AND c.relkind IN ('r', 'p')`,
    [cat.schema, tables],
  );
  const found = new Map<string, Map<string, { type: string; typtype: string; format: string }>>();
  for (const row of r.rows) {
    if (!found.has(row.tbl)) found.set(row.tbl, new Map());
    if (row.col) found.get(row.tbl)!.set(row.col, row);
  }
  if (found.size === 0) return { kind: 'absent' };
  const problems: string[] = [];
  const where = `layout ${cat.layoutName}`;
  for (const e of ENTITY_NAMES) {
    const table = cat.layout[e].table;
    const cols = found.get(table);
    if (!cols) {
      problems.push(`${cat.schema}.${table}: no such table (expected the ${e} table of ${where})`);
      continue;
    }
    for (const f of ENTITIES[e] as readonly string[]) {
      const col = (cat.layout[e].columns as Record<string, string | null>)[f];
      if (!col) continue;
      const kind = (KINDS[e as Entity] as Record<string, Kind>)[f]!;
      const got = cols.get(col);
      const name = `${cat.schema}.${table}.${col}`;
      if (!got) problems.push(`${name}: no such column (expected ${EXPECTED[kind]}, for ${e}.${f} of ${where})`);
      else if (!(ACCEPTS[kind].includes(got.type) || (kind === 'role' && got.typtype === 'e'))) {
        problems.push(`${name}: found ${got.format}, expected ${EXPECTED[kind]} (for ${e}.${f} of ${where})`);
      }
    }
  }
  if (problems.length > 0) {
    throw new UsageError(
      `the catalogue in schema ${cat.schema} does not match ${where}; nothing was changed:\n  ${problems.join('\n  ')}\n` +
        'give the right --schema, --catalogue practicum, or a layout file naming your tables and columns (see docs/existing-catalogue.md)',
    );
  }
  return { kind: 'present' };
}
