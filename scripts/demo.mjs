#!/usr/bin/env node
// `npm run demo`: services up, then the whole job on them in a database and under an index prefix
// of the demo's own, one sample search, and the lines that point the CLI at what it built.
//
//   node scripts/demo.mjs [--no-services] [query ...]
//
// --no-services: start nothing; use DATABASE_URL and ELASTICSEARCH_URL from the environment (the
// servers only: the demo replaces the database name). Environment: MOVIES_DEMO_DATABASE (default
// movies_demo, created if missing), MOVIES_DEMO_PREFIX (default demo_). Re-running is safe:
// migrate is idempotent, loaddata upserts, init-es rebuilds each index aside and moves its alias.
//
// Everything the steps print goes to stderr; stdout carries only the closing lines, so
// `eval "$(npm run --silent demo)"` leaves the shell pointed at the demo's data.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { readEnvFile } from './services/config.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: opts, positionals } = parseArgs({ options: { 'no-services': { type: 'boolean' } }, allowPositionals: true });
const database = process.env.MOVIES_DEMO_DATABASE || 'movies_demo';
const prefix = process.env.MOVIES_DEMO_PREFIX ?? 'demo_';
if (!/^[a-z_][a-z0-9_]*$/.test(database)) fail(`MOVIES_DEMO_DATABASE must be a plain lowercase name (got "${database}")`);
if (!/^[a-z0-9_.-]*$/.test(prefix)) fail(`MOVIES_DEMO_PREFIX may hold lowercase letters, digits, _ . - only (got "${prefix}")`);

function fail(message) {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(2);
}

/** Runs one step; a failure ends the demo, except an exit code in `allowed`, which is returned. */
const run = (cmd, args, env, allowed = []) => {
  process.stderr.write(`\n$ ${[cmd, ...args].join(' ')}\n`);
  try {
    // The steps' stdout goes to our stderr: stdout is kept for the closing lines.
    execFileSync(cmd, args, { cwd: root, stdio: ['ignore', process.stderr, process.stderr], env });
    return 0;
  } catch (err) {
    if (allowed.includes(err.status)) return err.status;
    fail(`${[cmd, ...args].join(' ')} exited ${err.status ?? err.signal}`);
  }
};

let servers = process.env;
if (!opts['no-services']) {
  run('npm', ['run', '--silent', 'services:up'], process.env);
  servers = { ...process.env, ...(await readEnvFile()) };
}
if (!servers.DATABASE_URL || !servers.ELASTICSEARCH_URL) fail('DATABASE_URL and ELASTICSEARCH_URL must be set (or run without --no-services)');

// The same server as DATABASE_URL, the demo's own database on it.
const url = new URL(servers.DATABASE_URL);
url.pathname = `/${database}`;
const databaseUrl = url.toString();
await createDatabase(url, database);

// The CLI's settings from the user's shell (MOVIES_INDEX, MOVIES_ONLY, ...) would point the steps
// elsewhere than the closing lines say: the demo sets its own, and only those.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOVIES_')));
Object.assign(env, { DATABASE_URL: databaseUrl, ELASTICSEARCH_URL: servers.ELASTICSEARCH_URL, MOVIES_INDEX_PREFIX: prefix });

const shared = `${root}../shared/data/movies.json`;
const fixture = existsSync(shared) ? shared : `${root}fixtures/movies.json`;
const movies = (args, allowed) => run(process.execPath, [`${root}bin/movies`, ...args], env, allowed);
movies(['migrate']);
movies(['loaddata', fixture]);
// Exit 7: the server has no stemmer filter (the test Elasticsearch of `npm run services:up` has
// no analysis-common module); the stemmer-free mapping works on every engine.
process.stderr.write('\ndemo: init-es with the default mapping (stemmers); where the engine lacks them (exit 7), with --mapping nostem\n');
if (movies(['init-es'], [7]) === 7) {
  process.stderr.write('demo: this engine has no stemmer filter; building with --mapping nostem instead\n');
  movies(['init-es', '--mapping', 'nostem']);
}
movies(['start-etl', '--batch', '100']);
movies(['status']);
movies(['search', positionals.join(' ') || 'star trek']);

const quote = (v) => (/^[A-Za-z0-9_@%+=:,./-]*$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
process.stdout.write(
  [
    `# The demo's data: database ${database}, indexes ${prefix}movies, ${prefix}genres, ${prefix}persons. Point the CLI at it:`,
    `export DATABASE_URL=${quote(databaseUrl)} ELASTICSEARCH_URL=${quote(servers.ELASTICSEARCH_URL)} MOVIES_INDEX_PREFIX=${quote(prefix)}`,
    // From the checkout; `movies search star` where the package is installed.
    'bin/movies search star',
    '',
  ].join('\n'),
);

/** CREATE DATABASE unless it exists, connected to the server's `postgres` database. */
async function createDatabase(target, name) {
  const admin = new URL(target);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  try {
    await client.connect();
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      process.stderr.write(`\ncreating database ${name}\n`);
      // Two demos at once: the loser's CREATE fails with duplicate_database, and the database is there.
      await client.query(`CREATE DATABASE "${name}"`).catch((err) => {
        if (err.code !== '42P04') throw err;
      });
    }
  } catch (err) {
    fail(`cannot create database ${name} on ${admin.host}: ${err.message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
