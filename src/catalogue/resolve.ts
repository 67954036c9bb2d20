import { readFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';
import { ENTITIES, ENTITY_NAMES, REQUIRED, type Catalogue, type Entity, type Layout } from './layout.js';
import { OWN_SCHEMA } from './names.js';
import { moviesLayout } from './layouts/movies.js';
import { practicumLayout } from './layouts/practicum.js';

/** The layouts movies knows by name; any other value of --catalogue is a layout file. */
export const LAYOUTS: Readonly<Record<string, Layout>> = { movies: moviesLayout, practicum: practicumLayout };

export const DEFAULT_SCHEMA = 'content';
export const DEFAULT_LAYOUT = 'movies';

// PostgreSQL truncates longer identifiers (NAMEDATALEN 64), which would make two names one.
const MAX_IDENTIFIER = 63;

function checkIdentifier(where: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || Buffer.byteLength(value) > MAX_IDENTIFIER || value.includes('\0')) {
    throw new UsageError(`${where} must be a non-empty name of at most ${MAX_IDENTIFIER} bytes (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** A layout file (JSON, the shape of Layout): every entity and every field key, no others; required fields not null. */
export function parseLayout(file: string, text: string): Layout {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`layout file ${file} is not JSON: ${(err as Error).message}`);
  }
  const obj = (v: unknown, where: string): Record<string, unknown> => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new UsageError(`layout file ${file}: ${where} must be an object`);
    return v as Record<string, unknown>;
  };
  const exactKeys = (o: Record<string, unknown>, keys: readonly string[], where: string) => {
    const missing = keys.filter((k) => !(k in o));
    const unknown = Object.keys(o).filter((k) => !keys.includes(k));
    if (missing.length > 0) throw new UsageError(`layout file ${file}: ${where} lacks ${missing.map((k) => `"${k}"`).join(', ')} (give null for a column the catalogue does not have)`);
    if (unknown.length > 0) throw new UsageError(`layout file ${file}: ${where} has unknown key ${unknown.map((k) => `"${k}"`).join(', ')} (expected ${keys.join(', ')})`);
  };
  const top = obj(raw, 'the file');
  exactKeys(top, ENTITY_NAMES, 'the file');
  const layout = {} as Record<Entity, { table: string; columns: Record<string, string | null> }>;
  for (const e of ENTITY_NAMES) {
    const t = obj(top[e], `"${e}"`);
    exactKeys(t, ['table', 'columns'], `"${e}"`);
    const cols = obj(t.columns, `"${e}".columns`);
    exactKeys(cols, ENTITIES[e], `"${e}".columns`);
    const columns: Record<string, string | null> = {};
    for (const f of ENTITIES[e]) {
      const v = cols[f];
      if (v === null) {
        if ((REQUIRED[e] as readonly string[]).includes(f)) {
          throw new UsageError(`layout file ${file}: "${e}".columns."${f}" is required (movies cannot build documents without it), not null`);
        }
        columns[f] = null;
      } else columns[f] = checkIdentifier(`layout file ${file}: "${e}".columns."${f}"`, v);
    }
    layout[e] = { table: checkIdentifier(`layout file ${file}: "${e}".table`, t.table), columns };
  }
  const tables = ENTITY_NAMES.map((e) => layout[e].table);
  const twice = tables.find((t, i) => tables.indexOf(t) !== i);
  if (twice) throw new UsageError(`layout file ${file}: table "${twice}" is given for two entities`);
  return layout as Layout;
}

/** --schema and --catalogue (or MOVIES_SCHEMA, MOVIES_CATALOGUE), validated once at the edge. */
export function resolveCatalogue(o: { schema?: string; catalogue?: string; schemaName?: string }): Catalogue {
  const schema = checkIdentifier(o.schemaName ?? '--schema', o.schema || DEFAULT_SCHEMA);
  if (schema === OWN_SCHEMA || schema.startsWith('pg_') || schema === 'information_schema') {
    throw new UsageError(`${o.schemaName ?? '--schema'} "${schema}" is reserved (movies keeps its own objects in schema "${OWN_SCHEMA}")`);
  }
  const name = o.catalogue || DEFAULT_LAYOUT;
  const known = LAYOUTS[name];
  if (known) return { schema, layout: known, layoutName: name };
  let text: string;
  try {
    text = readFileSync(name, 'utf8');
  } catch (err) {
    throw new UsageError(`--catalogue takes ${Object.keys(LAYOUTS).join(', ')} or a layout file; "${name}" is neither (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return { schema, layout: parseLayout(name, text), layoutName: name };
}

/** The default catalogue (schema content, layout movies), for tools and tests that work on it. */
export const defaultCatalogue = (): Catalogue => resolveCatalogue({});
