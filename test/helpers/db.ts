import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { createDb, type Db } from '../../src/db/knex.js';
import { migrate } from '../../src/commands/migrate.js';
import { resolveCatalogue } from '../../src/catalogue/resolve.js';
import { names } from '../../src/catalogue/names.js';
import { legacySource } from '../../src/db/legacy/index.js';
import { runCli } from './cli.js';
import type { CaptureName } from '../../src/capture/mode.js';

/** A fresh, migrated database per test file (capture by triggers unless `capture` says), dropped at the end. */
export async function freshDatabase(baseUrl: string, prefix = 'movies_t', capture: CaptureName = 'triggers'): Promise<{ url: string; db: Db; drop(): Promise<void> }> {
  const h = await emptyDatabase(baseUrl, prefix);
  const catalogue = resolveCatalogue({});
  await migrate({ db: h.db, databaseUrl: h.url, timeouts: TIMEOUTS, catalogue, names: names(catalogue), capture });
  return h;
}

export const TIMEOUTS = { connectMs: 10_000, statementMs: 120_000 };

/** A fresh database with nothing in it, dropped at the end. */
export async function emptyDatabase(baseUrl: string, prefix = 'movies_t'): Promise<{ url: string; db: Db; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new URL(baseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  // Named apart from the CLI's own connections, which tests may kill by application_name.
  const db = createDb(url.toString(), { timeouts: TIMEOUTS, poolMax: 8, applicationName: 'test-harness' });
  return {
    url: url.toString(),
    db,
    async drop() {
      await db.destroy();
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      // PostgreSQL refuses to drop a database a replication slot belongs to (logical capture's).
      await c.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL`, [name]);
      await c.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1`, [name]);
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * A database as an earlier version of movies left it (everything in schema content, migrations in
 * public.movies_migrations), migrated by those migrations (src/db/legacy/) up to `upTo` inclusive.
 */
export async function legacyDatabase(baseUrl: string, upTo: string): Promise<{ url: string; db: Db; drop(): Promise<void> }> {
  const h = await emptyDatabase(baseUrl, 'movies_legacy');
  const config = { migrationSource: legacySource, schemaName: 'public', tableName: 'movies_migrations' };
  for (;;) {
    const [, pending] = (await h.db.migrate.list(config)) as [unknown, Array<{ file: string } | string>];
    const next = pending[0];
    const name = typeof next === 'string' ? next : next?.file;
    if (!name || name > upTo) break;
    await h.db.migrate.up(config);
  }
  return h;
}

/** A database with a generated catalogue loaded by the current movies (`generate`, `loaddata`); its URL. */
export async function generatedCatalogue(films: number, seed: number): Promise<{ url: string; drop(): Promise<void> }> {
  const h = await freshDatabase(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/movies', 'movies_src');
  const file = join(mkdtempSync(join(tmpdir(), 'movies-')), 'catalogue.json');
  const env = { DATABASE_URL: h.url };
  for (const args of [['generate', '--films', String(films), '--seed', String(seed), '--out', file], ['loaddata', file]]) {
    const r = await runCli(args, env);
    if (r.code !== 0) throw new Error(`movies ${args[0]}: ${r.stderr}`);
  }
  await h.db.destroy();
  return h;
}

/**
 * Copies the rows of the default catalogue's tables (schema content) from one database into
 * another's, COPY to COPY over two connections (pg_dump refuses a server newer than itself: the
 * PostgreSQL 18 cell runs Debian's pg_dump 15). Parents first, for the links' foreign keys.
 */
export async function copyCatalogue(from: { url: string; drop(): Promise<void> }, toUrl: string): Promise<void> {
  const source = new pg.Client({ connectionString: from.url });
  const target = new pg.Client({ connectionString: toUrl });
  await source.connect();
  await target.connect();
  try {
    for (const table of ['film_work', 'genre', 'person', 'film_work_genre', 'film_work_person']) {
      const { rows } = await source.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'content' AND table_name = $1 ORDER BY ordinal_position",
        [table],
      );
      const columns = rows.map((r) => `"${r.column_name}"`).join(', ');
      await pipeline(
        source.query(copyStreams.to(`COPY content.${table} (${columns}) TO STDOUT`)),
        target.query(copyStreams.from(`COPY content.${table} (${columns}) FROM STDIN`)),
      );
    }
  } finally {
    await source.end();
    await target.end();
  }
  await from.drop();
}
