import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runCli } from '../helpers/cli.js';
import { deleteIndex, physicalIndexes } from '../helpers/engine.js';
import { root, serviceEnv } from '../helpers/env.js';

const services = serviceEnv();
const NAMES = ['movies', 'genres', 'persons'];

/** `node scripts/demo.mjs --no-services`, with an `npm` on PATH that fails: the demo must start nothing here. */
function demo(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const stub = mkdtempSync(join(tmpdir(), 'demo-npm-'));
  writeFileSync(join(stub, 'npm'), '#!/bin/sh\necho "npm $*: the demo was told to start no services" >&2\nexit 97\n');
  chmodSync(join(stub, 'npm'), 0o755);
  const child = spawn(process.execPath, [`${root}scripts/demo.mjs`, '--no-services'], {
    cwd: root,
    env: { PATH: `${stub}:${process.env.PATH ?? ''}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** What the shared database holds: every user table and its row count ({} for an empty one). */
async function tablesOf(url: string): Promise<Record<string, number>> {
  const tables = await sql<{ t: string }>(
    url,
    "SELECT format('%I.%I', table_schema, table_name) AS t FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' ORDER BY 1",
  );
  const out: Record<string, number> = {};
  for (const { t } of tables) out[t] = Number((await sql<{ n: string }>(url, `SELECT count(*) AS n FROM ${t}`))[0]!.n);
  return out;
}

/** The unprefixed names on an engine: what each alias points to and how many documents it answers with. */
async function unprefixed(base: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const n of NAMES) {
    const res = await fetch(`${base}/${n}/_count`);
    out[n] = { behind: await physicalIndexes(base, n), status: res.status, count: res.ok ? ((await res.json()) as { count: number }).count : undefined };
  }
  return out;
}

/** `export A=x B='y z'` into { A: 'x', B: 'y z' } (the quoting the demo writes: bare or single quotes). */
function parseExport(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.replace(/^export\s+/, '').matchAll(/([A-Z_][A-Z0-9_]*)=('(?:[^']|'\\'')*'|\S*)/g)) {
    out[m[1]!] = m[2]!.startsWith("'") ? m[2]!.slice(1, -1).replace(/'\\''/g, "'") : m[2]!;
  }
  return out;
}

test('the demo builds in a database and under a prefix of its own, on the CLI\'s engine, again and again, and says how to reuse it', async (t) => {
  const tag = randomBytes(3).toString('hex');
  const database = `movies_demo_t_${tag}`;
  const prefix = `demo_t_${tag}_`;
  const shared = new URL(services.DATABASE_URL);
  const before = { db: await tablesOf(shared.toString()), es: await unprefixed(services.ELASTICSEARCH_URL), os: await unprefixed(services.OPENSEARCH_URL) };
  t.after(async () => {
    for (const base of [services.ELASTICSEARCH_URL, services.OPENSEARCH_URL]) for (const n of NAMES) await deleteIndex(base, `${prefix}${n}`);
    const admin = new URL(services.DATABASE_URL);
    admin.pathname = '/postgres';
    await sql(admin.toString(), `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  const env = {
    DATABASE_URL: services.DATABASE_URL,
    ELASTICSEARCH_URL: services.ELASTICSEARCH_URL,
    MOVIES_DEMO_DATABASE: database,
    MOVIES_DEMO_PREFIX: prefix,
    // A setting of the user's shell the demo must not follow: it builds every index.
    MOVIES_ONLY: 'genres',
  };
  const first = await demo(env);
  assert.equal(first.code, 0, first.stderr);
  // Re-running works, and says the same.
  const second = await demo(env);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, first.stdout);

  // stdout is only the closing lines: comments, the export, the command.
  const lines = first.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  assert.equal(lines.length, 2, first.stdout);
  assert.match(lines[0]!, /^export /);
  const pointed = parseExport(lines[0]!);
  const url = new URL(pointed.DATABASE_URL!);
  assert.equal(url.pathname, `/${database}`);
  assert.equal(url.host, shared.host);
  assert.equal(pointed.MOVIES_INDEX_PREFIX, prefix);
  // The engine of the services' ELASTICSEARCH_URL, the one the CLI uses by default.
  assert.equal(pointed.ELASTICSEARCH_URL, services.ELASTICSEARCH_URL);
  for (const n of NAMES) {
    assert.notDeepEqual(await physicalIndexes(services.ELASTICSEARCH_URL, `${prefix}${n}`), [], `${prefix}${n} on Elasticsearch`);
    assert.deepEqual(await physicalIndexes(services.OPENSEARCH_URL, `${prefix}${n}`), [], `${prefix}${n} on OpenSearch`);
  }

  // The printed command, run as printed with the printed variables (and nothing else of ours).
  const [bin, ...args] = lines[1]!.split(/\s+/);
  assert.match(bin!, /^(bin\/)?movies$/);
  const r = await runCli(args, { MOVIES_ONLY: '', ...pointed });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /[1-9][\d,]* films? match/);
  assert.match(r.stdout, /star/i);

  // The shared database and the unprefixed names are as they were.
  assert.deepEqual(await tablesOf(shared.toString()), before.db);
  assert.deepEqual(await unprefixed(services.ELASTICSEARCH_URL), before.es);
  assert.deepEqual(await unprefixed(services.OPENSEARCH_URL), before.os);
});

test('the demo\'s own database is movies_demo unless told otherwise', async () => {
  // Nothing listens on port 1: the demo stops at creating its database, and names it.
  const r = await demo({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/movies', ELASTICSEARCH_URL: services.ELASTICSEARCH_URL });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /cannot create database movies_demo on 127\.0\.0\.1:1/);
  assert.equal(r.stdout, '');
});
