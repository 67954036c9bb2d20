import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb, type Db } from '../../src/db/knex.js';
import { migrate } from '../../src/commands/migrate.js';
import { resolveCatalogue } from '../../src/catalogue/resolve.js';
import { names } from '../../src/catalogue/names.js';
import { legacySource } from '../../src/db/legacy/index.js';
import { runCli } from './cli.js';

/** A fresh, migrated database per test file, dropped at the end. */
export async function freshDatabase(baseUrl: string, prefix = 'movies_t'): Promise<{ url: string; db: Db; drop(): Promise<void> }> {
  const h = await emptyDatabase(baseUrl, prefix);
  const catalogue = resolveCatalogue({});
  await migrate({ db: h.db, catalogue, names: names(catalogue) });
  return h;
}

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
  const db = createDb(url.toString(), { timeouts: { connectMs: 10_000, statementMs: 120_000 }, poolMax: 8, applicationName: 'test-harness' });
  return {
    url: url.toString(),
    db,
    async drop() {
      await db.destroy();
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
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

/** Copies the rows of the default catalogue's tables (schema content) from one database into another's, with pg_dump. */
export async function copyCatalogue(from: { url: string; drop(): Promise<void> }, toUrl: string): Promise<void> {
  const tables = ['film_work', 'genre', 'person', 'film_work_genre', 'film_work_person'].flatMap((t) => ['-t', `content.${t}`]);
  const dump = execFileSync('pg_dump', ['--data-only', ...tables, from.url], { maxBuffer: 1 << 30 });
  execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', toUrl], { input: dump, stdio: ['pipe', 'ignore', 'inherit'] });
  await from.drop();
}
