import assert from 'node:assert/strict';
import { byName } from '../helpers/json.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { HttpFaultProxy, type Answer } from '../helpers/http-proxy.js';
import { freshDatabase } from '../helpers/db.js';
import { deleteIndex, physicalIndexes } from '../helpers/engine.js';
import { ENGINES, mappingArgs } from '../helpers/engines.js';
import { serviceEnv } from '../helpers/env.js';
import { ExitCode } from '../../src/core/errors.js';
import { HASH_FIELD } from '../../src/indexes/content-hash.js';
import type { VerifyResult } from '../../src/commands/verify.js';

/*
 * Issue 21 item 16. An engine that answers empty 200s to verify's searches (and its _mget) while
 * its _count says the documents are there has not shown verify its documents: a failed reading
 * (retried within the budget, then exit 3), never 1,271 films "missing" queued by --repair.
 */

const services = serviceEnv();
const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;
const FILMS = 120;

const emptySearch: Answer = {
  status: 200,
  body: JSON.stringify({ took: 1, timed_out: false, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 }, hits: { total: { value: 0, relation: 'eq' }, max_score: null, hits: [] } }),
  product: 'Elasticsearch',
};

describe('verify against an engine whose readings contradict its own count', () => {
  let h: Awaited<ReturnType<typeof freshDatabase>>;
  let env: Record<string, string>;
  let dir: string;
  const prefix = `vr${process.pid}_`;
  const proxy = new HttpFaultProxy(engine.url);

  before(async () => {
    h = await freshDatabase(services.DATABASE_URL, 'movies_vr');
    env = { DATABASE_URL: h.url, ELASTICSEARCH_URL: engine.url, MOVIES_INDEX_PREFIX: prefix };
    dir = mkdtempSync(join(tmpdir(), 'movies-vr-'));
    const file = join(dir, 'catalogue.json');
    for (const args of [['generate', '--films', String(FILMS), '--seed', '11', '--out', file], ['loaddata', file], ['init-es', ...mappingArgs(engine)]]) {
      const r = await runCli(args, env);
      assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
    }
    await proxy.start();
  });
  after(async () => {
    await proxy.stop();
    await deleteIndex(engine.url, `${prefix}movies`);
    await h.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const queued = async () => Number((await h.db.raw('SELECT count(*) AS n FROM movies.film_work_change')).rows[0].n);

  async function verifyThroughProxy(mget: (body: string) => Answer) {
    // Each case on its own: what an earlier one queued (on a build that queues) is not this one's.
    await h.db.raw('DELETE FROM movies.film_work_change');
    proxy.match = /\/_search|\/_mget/;
    proxy.hits = 0;
    proxy.fault = (req) => (req.path.includes('_mget') ? mget(req.body) : emptySearch);
    const started = Date.now();
    const r = await runCli(['--max-retry-time', '3', 'verify', '--repair'], { ...env, ELASTICSEARCH_URL: proxy.url() }, { timeoutMs: 60_000 });
    return { ...r, seconds: (Date.now() - started) / 1000 };
  }

  it('the index is in step to begin with', async () => {
    proxy.fault = undefined;
    const r = await runCli(['verify'], { ...env, ELASTICSEARCH_URL: proxy.url() });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('empty searches and an empty _mget: a failed reading, exit 3, nothing queued', async () => {
    const r = await verifyThroughProxy(() => ({ status: 200, body: '{"docs":[]}', product: 'Elasticsearch' }));
    assert.equal(r.code, ExitCode.connection, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.ok(proxy.hits > 0, 'the fault was met');
    assert.ok(r.seconds < 30, `bounded: ${r.seconds} s`);
    assert.equal(r.stdout, '', 'no report');
    assert.doesNotMatch(r.stderr, /differ from the database/);
    assert.equal(await queued(), 0, 'nothing queued by --repair');
  });

  it('empty searches and an _mget that says "not found" for every id: still a failed reading, nothing queued', async () => {
    const r = await verifyThroughProxy((body) => {
      const ids = (JSON.parse(body) as { ids: string[] }).ids;
      return { status: 200, body: JSON.stringify({ docs: ids.map((id) => ({ _index: `${prefix}movies`, _id: id, found: false })) }), product: 'Elasticsearch' };
    });
    assert.equal(r.code, ExitCode.connection, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /count/, 'says the reading contradicts the index\'s count');
    assert.equal(r.stdout, '', 'no report');
    assert.equal(await queued(), 0, 'nothing queued by --repair');
  });

  it('one stale document and an empty _mget when verify reads it again: exit 3, not called missing', async () => {
    const physical = (await physicalIndexes(engine.url, `${prefix}movies`))[0]!;
    const film = (await h.db.raw('SELECT id FROM content.film_work ORDER BY id LIMIT 1')).rows[0].id as string;
    const res = await fetch(`${engine.url}/${physical}/_update/${film}?refresh=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ doc: { [HASH_FIELD]: 'not-the-hash' } }),
    });
    assert.ok(res.ok, await res.text());
    await h.db.raw('DELETE FROM movies.film_work_change');
    proxy.match = /\/_mget/;
    proxy.hits = 0;
    proxy.fault = () => ({ status: 200, body: '{"docs":[]}', product: 'Elasticsearch' });
    const r = await runCli(['--max-retry-time', '3', 'verify', '--repair'], { ...env, ELASTICSEARCH_URL: proxy.url() }, { timeoutMs: 60_000 });
    assert.equal(r.code, ExitCode.connection, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.ok(proxy.hits > 0, 'the fault was met');
    assert.match(r.stderr, /malformed mget answer \(0 entries for 1 ids\)/);
    assert.equal(await queued(), 0, 'nothing queued by --repair');
    stale = film;
  });

  let stale: string | undefined;
  it('the engine answering truly again: the one stale document and nothing else, nothing was queued', async () => {
    proxy.fault = undefined;
    const r = await runCli(['--json', 'verify'], { ...env, ELASTICSEARCH_URL: proxy.url() });
    assert.equal(r.code, ExitCode.drift, r.stdout + r.stderr);
    const x = byName(JSON.parse(r.stdout).indexes as Array<VerifyResult['indexes'][string]>).movies!;
    assert.deepEqual([x.missing.count, x.stale.sample, x.orphan.count], [0, [stale], 0]);
    assert.equal(await queued(), 0);
  });
});
