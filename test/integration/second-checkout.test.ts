// A second checkout on the same machine must reuse the servers the first one runs (they hold the
// well-known ports), and its `down` must not stop servers it did not start.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { root, serviceEnv } from '../helpers/env.js';
import { readEnvFileSync } from '../../scripts/env-file.mjs';

const logicalUrl = () => process.env.DATABASE_URL_LOGICAL || readEnvFileSync(`${root}.services/env`).DATABASE_URL_LOGICAL!;

const services = serviceEnv();

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/_cluster/health`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status?: string };
    return res.ok && ['green', 'yellow'].includes(body.status ?? '');
  } catch {
    return false;
  }
}

describe('services: a second checkout', () => {
  let second: string;
  before(() => {
    // The services scripts find their checkout from their own location, so a copy of scripts/
    // and services/ is a second checkout as far as they are concerned.
    second = mkdtempSync(join(tmpdir(), 'movies-second-'));
    for (const dir of ['scripts', 'services']) cpSync(join(root, dir), join(second, dir), { recursive: true });
  });
  after(() => rmSync(second, { recursive: true, force: true }));

  const runServices = (cmd: string) => {
    const started = Date.now();
    const r = spawnSync(process.execPath, ['scripts/services.mjs', cmd], { cwd: second, encoding: 'utf8', timeout: 120_000 });
    return { ...r, seconds: (Date.now() - started) / 1000 };
  };

  it('up reuses the servers already listening, at once, and writes its .services/env', async () => {
    assert.ok(await healthy(services.ELASTICSEARCH_URL), 'the first checkout runs Elasticsearch');
    assert.ok(await healthy(services.OPENSEARCH_URL), 'the first checkout runs OpenSearch');
    const r = runServices('up');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(r.seconds < 15, `up took ${r.seconds} s`);
    assert.match(r.stdout, /elasticsearch: reusing the healthy elasticsearch/);
    assert.match(r.stdout, /opensearch: reusing the healthy opensearch/);
    assert.match(r.stdout, /postgres-logical: (reusing the PostgreSQL server already on|already running on)/);
    const env = readFileSync(join(second, '.services', 'env'), 'utf8');
    assert.match(env, new RegExp(`ELASTICSEARCH_URL=${services.ELASTICSEARCH_URL}`));
    assert.match(env, new RegExp(`OPENSEARCH_URL=${services.OPENSEARCH_URL}`));
    assert.match(env, /DATABASE_URL=postgres:/);
    assert.match(env, /DATABASE_URL_LOGICAL=postgres:/);
  });

  it('down leaves the servers it did not start running', async () => {
    const r = runServices('down');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(await healthy(services.ELASTICSEARCH_URL), 'Elasticsearch still runs');
    assert.ok(await healthy(services.OPENSEARCH_URL), 'OpenSearch still runs');
    const pg = spawnSync('psql', [services.DATABASE_URL, '-w', '-X', '-A', '-t', '-c', 'select 1'], { encoding: 'utf8' });
    assert.equal(pg.stdout.trim(), '1', pg.stderr);
    const logical = spawnSync('psql', [logicalUrl(), '-w', '-X', '-A', '-t', '-c', 'show wal_level'], { encoding: 'utf8' });
    assert.equal(logical.stdout.trim(), 'logical', logical.stderr);
  });
});
