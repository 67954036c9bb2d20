/*
 * Benchmark catalogues: one database per size (movies_bench_<label>), filled by a direct
 * loader that streams the deterministic generator (src/django/generate.ts) into COPY, one
 * COPY per table at once. Keys, indexes and foreign keys are dropped during the COPY and
 * re-created afterwards (sorted index builds beat random-uuid inserts), and change-capture
 * triggers are disabled for the load: the same state `movies loaddata` leaves behind in a fresh
 * database, in a fraction of the time. A fresh database has no targets (movies.etl_target,
 * migration 005), so nothing is pending: `movies init-es` makes every document pending for the
 * index it builds. The schema itself comes from `movies migrate`, so it is exactly the application's.
 */
import { once } from 'node:events';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { generateCatalogue, type GenerateCounts } from '../../src/django/generate.js';
import { baseUrl, runCli } from './measure.js';

export interface CatalogueInfo {
  database: string;
  url: string;
  films: number;
  seed: number;
  /** Seconds the direct loader took when this catalogue was created (excluding migrate). */
  loadSeconds: number;
  rows: number;
  counts: GenerateCounts;
  reused: boolean;
}

const TABLES = {
  'movies.genre': { table: 'genre', cols: ['id', 'genre', 'description', 'created', 'modified'] },
  'movies.person': { table: 'person', cols: ['id', 'name', 'created', 'modified'] },
  'movies.filmwork': {
    table: 'film_work',
    cols: ['id', 'title', 'description', 'creation_date', 'film_rating', 'imdb_rating', 'film_type', 'created', 'modified'],
  },
  'movies.filmworkgenre': { table: 'film_work_genre', cols: ['id', 'film_work_id', 'genre_id', 'created', 'modified'] },
  'movies.filmworkperson': {
    table: 'film_work_person',
    cols: ['id', 'film_work_id', 'person_id', 'job', 'created', 'modified'],
  },
} as const;
type ModelName = keyof typeof TABLES;

const FIELD: Record<string, string> = { film_work_id: 'film_work', genre_id: 'genre', person_id: 'person' };

function copyText(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : s;
}

export function dbUrl(database: string): string {
  const u = new URL(baseUrl());
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: dbUrl('postgres') });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** One statement on its own connection to `database`. */
export async function sql(database: string, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: dbUrl(database) });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

export async function dropDatabase(database: string): Promise<void> {
  // A database with a replication slot (logical capture) cannot be dropped before its slot.
  await admin((c) => c.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1', [database]));
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
}

export async function createEmptyDatabase(database: string): Promise<string> {
  await dropDatabase(database);
  await admin((c) => c.query(`CREATE DATABASE ${database}`));
  const url = dbUrl(database);
  const r = await runCli(['migrate'], { DATABASE_URL: url });
  if (r.code !== 0) throw new Error(`migrate failed: ${r.stderr}`);
  return url;
}

async function readMeta(database: string): Promise<CatalogueInfo | undefined> {
  const exists = await admin((c) => c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]));
  if (exists.rowCount === 0) return undefined;
  const c = new pg.Client({ connectionString: dbUrl(database) });
  await c.connect();
  try {
    const r = await c.query<{ info: CatalogueInfo }>('SELECT info FROM public.bench_meta').catch(() => undefined);
    return r?.rows[0]?.info;
  } finally {
    await c.end();
  }
}

/** Returns the catalogue database for `films`, creating it with the direct loader when missing. */
export async function ensureCatalogue(label: string, films: number, seed: number, log: (m: string) => void): Promise<CatalogueInfo> {
  const database = `movies_bench_${label}`;
  const meta = await readMeta(database);
  if (meta && meta.films === films && meta.seed === seed) {
    // A catalogue made by an earlier version gets the current schema (a no-op when it has it).
    const m = await runCli(['migrate'], { DATABASE_URL: meta.url });
    if (m.code !== 0) throw new Error(`migrate failed: ${m.stderr}`);
    return { ...meta, reused: true };
  }
  log(`creating ${database}: ${films.toLocaleString('en')} films (direct COPY loader)`);
  const url = await createEmptyDatabase(database);
  const r = await directLoad(url, films, seed);
  const info: CatalogueInfo = { database, url, films, seed, loadSeconds: r.seconds, rows: r.rows, counts: r.counts, reused: false };
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('CREATE TABLE public.bench_meta (info jsonb NOT NULL)');
    await c.query('INSERT INTO public.bench_meta VALUES ($1)', [JSON.stringify(info)]);
  } finally {
    await c.end();
  }
  log(`loaded ${r.rows.toLocaleString('en')} rows in ${r.seconds.toFixed(1)} s`);
  return info;
}

interface SavedDdl {
  drop: string[];
  create: string[];
}

/** Definitions of keys, foreign keys and indexes of the content tables, to drop and re-create. */
async function saveDdl(c: pg.Client): Promise<SavedDdl> {
  const cons = await c.query<{ tbl: string; name: string; def: string; contype: string }>(`
    SELECT conrelid::regclass::text AS tbl, conname AS name, pg_get_constraintdef(oid) AS def, contype
    FROM pg_constraint
    WHERE connamespace = 'content'::regnamespace AND contype IN ('p', 'u', 'f')
      AND conrelid::regclass::text IN ('content.genre', 'content.person', 'content.film_work',
                                       'content.film_work_genre', 'content.film_work_person')`);
  const idx = await c.query<{ name: string; def: string }>(`
    SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
    FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
    WHERE t.relnamespace = 'content'::regnamespace
      AND t.relname IN ('genre', 'person', 'film_work', 'film_work_genre', 'film_work_person')
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`);
  const fks = cons.rows.filter((r) => r.contype === 'f');
  const keys = cons.rows.filter((r) => r.contype !== 'f');
  return {
    drop: [
      ...fks.map((f) => `ALTER TABLE ${f.tbl} DROP CONSTRAINT ${f.name}`),
      ...keys.map((k) => `ALTER TABLE ${k.tbl} DROP CONSTRAINT ${k.name}`),
      ...idx.rows.map((i) => `DROP INDEX ${i.name}`),
    ],
    create: [
      ...keys.map((k) => `ALTER TABLE ${k.tbl} ADD CONSTRAINT ${k.name} ${k.def}`),
      ...idx.rows.map((i) => i.def),
      ...fks.map((f) => `ALTER TABLE ${f.tbl} ADD CONSTRAINT ${f.name} ${f.def}`),
    ],
  };
}

export async function directLoad(url: string, films: number, seed: number): Promise<{ seconds: number; rows: number; counts: GenerateCounts }> {
  const started = performance.now();
  const main = new pg.Client({ connectionString: url });
  await main.connect();
  const ddl = await saveDdl(main);
  const tables = Object.values(TABLES).map((t) => `content.${t.table}`);
  for (const t of tables) await main.query(`ALTER TABLE ${t} DISABLE TRIGGER USER`);
  for (const s of ddl.drop) await main.query(s);

  // One connection and one COPY per table, all open at once while the generator runs.
  const streams = new Map<ModelName, { client: pg.Client; stream: ReturnType<typeof copyStreams.from>; buf: string }>();
  for (const [model, t] of Object.entries(TABLES) as Array<[ModelName, (typeof TABLES)[ModelName]]>) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const stream = client.query(copyStreams.from(`COPY content.${t.table} (${t.cols.join(', ')}) FROM STDIN`));
    streams.set(model, { client, stream, buf: '' });
  }
  const counts: GenerateCounts = { films: 0, genres: 0, persons: 0, genreLinks: 0, personLinks: 0, objects: 0 };
  let rows = 0;
  for (const obj of generateCatalogue({ films, seed }, counts)) {
    const t = TABLES[obj.model as ModelName];
    const s = streams.get(obj.model as ModelName)!;
    let line = obj.pk;
    for (const col of t.cols) {
      if (col === 'id') continue;
      line += '\t' + copyText(obj.fields[FIELD[col] ?? col]);
    }
    s.buf += line + '\n';
    rows++;
    if (s.buf.length > 1 << 16) {
      const ok = s.stream.write(s.buf);
      s.buf = '';
      if (!ok) await once(s.stream, 'drain');
    }
  }
  await Promise.all(
    [...streams.values()].map(async (s) => {
      s.stream.end(s.buf);
      await once(s.stream, 'finish');
      await s.client.end();
    }),
  );
  await main.query(`SET maintenance_work_mem = '1GB'`);
  for (const s of ddl.create) await main.query(s);
  for (const t of tables) await main.query(`ALTER TABLE ${t} ENABLE TRIGGER USER`);
  // Nothing to enqueue: with no target yet, loaddata's triggers would queue nothing either.
  // A live catalogue has statistics; a freshly loaded one gets them now rather than from autovacuum later.
  await main.query('VACUUM ANALYZE');
  await main.end();
  return { seconds: (performance.now() - started) / 1000, rows, counts };
}
