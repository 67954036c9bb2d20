import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb, type Db } from '../../src/db/knex.js';
import { migrate } from '../../src/commands/migrate.js';
import { resolveCatalogue } from '../../src/catalogue/resolve.js';
import { names } from '../../src/catalogue/names.js';

/** A fresh, migrated database per test file, dropped at the end. */
export async function freshDatabase(baseUrl: string, prefix = 'movies_t'): Promise<{ url: string; db: Db; drop(): Promise<void> }> {
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
  const catalogue = resolveCatalogue({});
  await migrate({ db, catalogue, names: names(catalogue) });
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
