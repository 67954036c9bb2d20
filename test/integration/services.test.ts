// Checks the servers that `npm run services:up` provides. These tests FAIL (never skip) when a
// server is missing: run `npm run services:up` first (.ci/run does).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** .services/env (written by services:up), overridden by the process environment. */
function serviceEnv(): Record<string, string | undefined> {
  const fromFile: Record<string, string> = {};
  try {
    const text = readFileSync(join(ROOT, '.services', 'env'), 'utf8');
    for (const line of text.split('\n')) {
      const m = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
      if (m?.[1] && m[2] !== undefined) fromFile[m[1]] = m[2].replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
    }
  } catch {
    // no env file: rely on the environment
  }
  const pick = (k: string) => process.env[k] || fromFile[k];
  return {
    DATABASE_URL: pick('DATABASE_URL'),
    ELASTICSEARCH_URL: pick('ELASTICSEARCH_URL'),
    OPENSEARCH_URL: pick('OPENSEARCH_URL'),
  };
}

const env = serviceEnv();

function required(name: keyof ReturnType<typeof serviceEnv>): string {
  const v = env[name];
  assert.ok(v, `${name} is not set and not in .services/env — run \`npm run services:up\``);
  return v.replace(/\/+$/, '');
}

test('services: PostgreSQL answers select 1', async () => {
  const client = new pg.Client({ connectionString: required('DATABASE_URL'), connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const res = await client.query('select 1 as one');
    assert.equal(res.rows[0].one, 1);
  } finally {
    await client.end();
  }
});

test('services: Elasticsearch 9.x answers GET / with the Elasticsearch product header', async () => {
  const url = required('ELASTICSEARCH_URL');
  const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-elastic-product'), 'Elasticsearch');
  const body = (await res.json()) as { version?: { number?: string } };
  assert.match(String(body.version?.number), /^9\./, `expected Elasticsearch 9.x, got ${body.version?.number}`);

  const health = await fetch(`${url}/_cluster/health`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(health.status, 200);
  const h = (await health.json()) as { status: string };
  assert.ok(['green', 'yellow'].includes(h.status), `cluster health ${h.status}`);
});

test('services: OpenSearch stems with the english stemmer (analysis-common present)', async () => {
  const url = required('OPENSEARCH_URL');
  const root = await fetch(`${url}/`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(root.status, 200);
  const info = (await root.json()) as { version?: { distribution?: string } };
  assert.equal(info.version?.distribution, 'opensearch');

  const res = await fetch(`${url}/_analyze`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      tokenizer: 'standard',
      filter: [{ type: 'stemmer', language: 'english' }],
      text: 'running foxes',
    }),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { tokens: { token: string }[] };
  assert.deepEqual(
    body.tokens.map((t) => t.token),
    ['run', 'fox'],
  );
});
