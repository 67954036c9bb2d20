import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { serviceEnv } from '../helpers/env.js';
import { HttpFaultProxy, type Answer } from '../helpers/http-proxy.js';
import { assertIndexMatchesDatabase, assertNothingFalselyMarked, indexedCatalogue, pendingCount, type Catalogue } from '../helpers/catalogue.js';
import { ExitCode } from '../../src/core/errors.js';

const services = serviceEnv();

/** The bulk body's ids, in order (action lines only). */
function bulkIds(body: string): string[] {
  const ids: string[] = [];
  const lines = body.trim().split('\n');
  for (let i = 0; i < lines.length; i++) {
    const [op, meta] = Object.entries(JSON.parse(lines[i]!) as Record<string, { _id: string }>)[0]!;
    ids.push(meta._id);
    if (op !== 'delete') i++;
  }
  return ids;
}

describe('acknowledgement: a film is marked only when its own bulk item acknowledges it', () => {
  let c: Catalogue;
  let proxy: HttpFaultProxy;
  before(async () => {
    c = await indexedCatalogue({ databaseUrl: services.DATABASE_URL, engineUrl: services.OPENSEARCH_URL, films: 300, seed: 81, index: `movies_ack_${process.pid}` });
    proxy = new HttpFaultProxy(services.OPENSEARCH_URL);
    await proxy.start();
  });
  after(async () => {
    await proxy?.stop();
    await c?.cleanup();
  });
  beforeEach(() => {
    proxy.fault = undefined;
    proxy.hits = 0;
  });

  const pending = () => pendingCount(c);
  const touchAll = () => c.db('content.film_work').update({ description: c.db.raw("description || '.'") });
  const viaProxy = () => ({ ...c.env, ELASTICSEARCH_URL: proxy.url() });


  const malformed: Array<[string, (body: string, forward: () => Promise<Answer>) => Promise<Answer> | Answer]> = [
    ['200 without items', () => ({ status: 200, body: '{"took":1,"errors":false}' })],
    ['an HTML page with 200', () => ({ status: 200, body: '<html><body>OK</body></html>', contentType: 'text/html' })],
    ['a truncated item list', async (_b, forward) => {
      const real = JSON.parse((await forward()).body) as { items: unknown[] };
      return { status: 200, body: JSON.stringify({ ...real, items: real.items.slice(0, Math.floor(real.items.length / 2)) }) };
    }],
    ['items for other films', async (_b, forward) => {
      const real = JSON.parse((await forward()).body) as { items: Array<Record<string, { _id: string }>> };
      for (const item of real.items) Object.values(item)[0]!._id = '00000000-0000-4000-8000-000000000000';
      return { status: 200, body: JSON.stringify(real) };
    }],
  ];
  for (const [name, answer] of malformed) {
    it(`${name}: retried, then a non-zero exit within 45 s with nothing marked`, async () => {
      await touchAll();
      proxy.fault = (req, forward) => answer(req.body, forward);
      const started = Date.now();
      const r = await runCli(['start-etl', '--max-retry-time', '5', '--batch', '100'], viaProxy());
      const seconds = (Date.now() - started) / 1000;
      assert.equal(r.code, ExitCode.connection, r.stderr);
      assert.ok(seconds < 45, `ended in ${seconds} s`);
      assert.ok(proxy.hits > 1, `the bulk request was retried (${proxy.hits} requests)`);
      assert.match(r.stderr, /bulk: the engine answered/);
      assert.equal(await pending(), 300, 'no film was marked');
      await assertNothingFalselyMarked(c);
      const again = await runCli(['start-etl'], c.env);
      assert.equal(again.code, 0, again.stderr);
      await assertIndexMatchesDatabase(c);
    });
  }

  it('per-document 503 and 429 are resent until acknowledged', async () => {
    await touchAll();
    let calls = 0;
    proxy.fault = async (req, forward) => {
      calls++;
      if (calls > 2) return forward();
      // The engine stored nothing of this request: every item says "try later".
      const ids = bulkIds(req.body);
      const items = ids.map((id, i) => ({ index: { _id: id, status: i % 2 ? 429 : 503, error: { type: 'unavailable_shards_exception', reason: 'primary shard is not active' } } }));
      return { status: 200, body: JSON.stringify({ errors: true, items }) };
    };
    const r = await runCli(['start-etl', '--batch', '100', '--concurrency', '1'], viaProxy());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /HTTP 503\/429|HTTP 429\/503/);
    assert.equal(await pending(), 0);
    await assertIndexMatchesDatabase(c);
  });

  it('per-document 503 past the budget is an outage: exit 3, nothing of it marked', async () => {
    await touchAll();
    proxy.fault = (req) => ({
      status: 200,
      body: JSON.stringify({ errors: true, items: bulkIds(req.body).map((id) => ({ index: { _id: id, status: 503, error: { type: 'unavailable_shards_exception', reason: 'x' } } })) }),
    });
    const r = await runCli(['start-etl', '--max-retry-time', '2', '--batch', '100'], viaProxy());
    assert.equal(r.code, ExitCode.connection, r.stderr);
    assert.ok(proxy.hits > 1, 'the bulk request was retried');
    assert.match(r.stderr, /unavailable past --max-retry-time/);
    assert.equal(await pending(), 300);
    assert.equal((await runCli(['start-etl'], c.env)).code, 0);
  });

  it('413: the page is split and resent until each part fits', async () => {
    await touchAll();
    let rejected = 0;
    proxy.fault = (req, forward) => {
      // An engine whose http.max_content_length is ~40 documents of this catalogue.
      if (req.body.length > 40_000) {
        rejected++;
        return { status: 413, body: '' };
      }
      return forward();
    };
    const r = await runCli(['start-etl', '--batch', '200'], viaProxy());
    assert.equal(r.code, 0, r.stderr);
    assert.ok(rejected > 0, 'the proxy refused large requests');
    assert.equal(await pending(), 0);
    await assertIndexMatchesDatabase(c);
  });

  it('413 for one document alone: exit 5 naming the film and the size; with --skip-invalid it is recorded', async () => {
    await touchAll();
    const victim = (await c.db('content.film_work').select('id').orderBy('id').first()).id as string;
    proxy.fault = (req, forward) => (req.body.includes(`"_id":"${victim}"`) ? { status: 413, body: '' } : forward());
    const r = await runCli(['start-etl', '--batch', '50'], viaProxy());
    assert.equal(r.code, ExitCode.engineRejected, r.stderr);
    assert.match(r.stderr, new RegExp(`film ${victim}.*\\d[\\d,]* bytes.*413`));
    const skip = await runCli(['--json', 'start-etl', '--batch', '50', '--skip-invalid'], viaProxy());
    assert.equal(skip.code, 0, skip.stderr);
    assert.equal(JSON.parse(skip.stdout).rejected, 1);
    assert.equal(await pending(), 0);
    const s = await runCli(['--json', 'status'], c.env);
    assert.equal(s.code, ExitCode.filmsRejected, s.stderr);
    assert.deepEqual(JSON.parse(s.stdout).rejectedFilms.map((f: { id: string }) => f.id), [victim]);
    // Fixed (here: the engine accepts it again) and changed: the next run indexes it and clears the record.
    proxy.fault = undefined;
    await c.db('content.film_work').where({ id: victim }).update({ title: 'Back again' });
    assert.equal((await runCli(['start-etl'], c.env)).code, 0);
    const s2 = JSON.parse((await runCli(['--json', 'status'], c.env)).stdout);
    assert.equal(s2.rejected, 0);
    await assertIndexMatchesDatabase(c);
  });

  it('--skip-invalid: an invalid film is recorded and left out, every other film is indexed', async () => {
    await touchAll();
    const [bad] = await c.db('content.film_work').select('id').orderBy('id', 'desc').limit(1);
    await c.db('content.film_work').where({ id: bad.id }).update({ imdb_rating: 11 });
    const strict = await runCli(['start-etl', '--batch', '100'], c.env);
    assert.equal(strict.code, ExitCode.invalidData, strict.stderr);
    assert.match(strict.stderr, new RegExp(bad.id));
    const r = await runCli(['--json', 'start-etl', '--batch', '100', '--skip-invalid'], c.env);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.rejected, 1);
    assert.equal(await pending(), 0, 'the rejected film left pending too');
    const s = await runCli(['--json', 'status'], c.env);
    assert.equal(s.code, ExitCode.filmsRejected);
    const st = JSON.parse(s.stdout);
    assert.equal(st.health, 'films-rejected');
    assert.deepEqual(
      st.rejectedFilms.map((f: Record<string, unknown>) => [f.id, f.field, f.rule]),
      [[bad.id, 'imdb_rating', 'maximum']],
    );
    assert.match((await runCli(['status'], c.env)).stdout, new RegExp(`film ${bad.id}.*imdb_rating`));
    // The fix is an ordinary edit: the film becomes pending again and is indexed.
    await c.db('content.film_work').where({ id: bad.id }).update({ imdb_rating: 7.5 });
    const fixed = await runCli(['--json', 'start-etl'], c.env);
    assert.equal(JSON.parse(fixed.stdout).indexed, 1);
    const s2 = await runCli(['--json', 'status'], c.env);
    assert.equal(s2.code, 0, s2.stdout);
    assert.equal(JSON.parse(s2.stdout).rejected, 0);
    await assertIndexMatchesDatabase(c);
  });
});
