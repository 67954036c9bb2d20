import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { ENGINES } from '../helpers/engines.js';
import { HttpFaultProxy } from '../helpers/http-proxy.js';
import { Proxy } from '../helpers/proxy.js';
import { engineCatalogue, type Catalogue } from '../helpers/catalogue.js';
import { sleep, startWatch, within } from '../helpers/watch.js';
import { ExitCode } from '../../src/core/errors.js';

/*
 * What a watch says about itself while it cannot write: its gauges come from the database
 * (not from the cycle that cannot finish), /healthz turns 503 as soon as a cycle is failing or
 * a change waits longer than --max-lag, and `status` sees failing cycles in the run history.
 * One engine (OpenSearch): the engine is not the point.
 */
const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;

describe('a watch that cannot write: gauges, /healthz and status say so', () => {
  let c: Catalogue;
  let films: string[];
  before(async () => {
    c = await engineCatalogue(engine, { films: 100, seed: 77, name: 'watchhealth' });
    films = (await c.db('content.film_work').orderBy('id').pluck('id')) as string[];
  });
  after(async () => c?.cleanup());

  const touch = (ids: string[], title: string) => c.db('content.film_work').whereIn('id', ids).update({ title });
  // Each test starts from an index in step, whatever an earlier one left pending.
  beforeEach(async () => assert.equal((await runCli(['start-etl'], c.env)).code, 0));
  const pending = 'movies_pending_documents{index="movies"}';
  const lag = 'movies_lag_seconds{index="movies"}';

  it('engine answering 503 to every bulk: 503 at once (not when the budget is spent), gauges from the database, ageing while PostgreSQL is down too', async () => {
    const es = new HttpFaultProxy(engine.url);
    const pgProxy = Proxy.forUrl(c.url);
    await es.start();
    await pgProxy.start();
    const w = await startWatch({ ...c.env, ELASTICSEARCH_URL: es.url(), DATABASE_URL: pgProxy.url(c.url) }, ['--poll-interval', '1', '--max-retry-time', '120', '--max-lag', '60']);
    try {
      await within(15_000, () => `healthy after the first cycle (${w.stderr})`, async () => (await w.health()) === 200);
      es.fault = () => ({ status: 503, body: '{"error":"unavailable"}' });
      await touch(films.slice(0, 25), 'During the outage');
      const ms = await within(8_000, async () => `/healthz 503 while the bulk is retried (${JSON.stringify(await w.healthz())})`, async () => (await w.health()) === 503);
      console.log(`/healthz 503 ${ms} ms after the change`);
      assert.match((await w.healthz()).reason, /movies/, 'the reason names the index');
      await within(8_000, async () => `pending gauge reads 25 (${await w.gauge(pending)})`, async () => (await w.gauge(pending)) === 25);
      const lag1 = (await w.gauge(lag))!;
      assert.ok(lag1 > 0, `lag ${lag1} > 0`);
      await sleep(1_500);
      const lag2 = (await w.gauge(lag))!;
      assert.ok(lag2 > lag1 + 1, `lag grows: ${lag1} then ${lag2}`);
      assert.equal(await w.gauge('movies_healthy'), 0);

      // PostgreSQL down too: the lag goes on growing from the oldest change last seen.
      await pgProxy.cut();
      await sleep(1_500);
      const lag3 = (await w.gauge(lag))!;
      await sleep(1_500);
      const lag4 = (await w.gauge(lag))!;
      assert.ok(lag3 > lag2 && lag4 > lag3 + 1, `lag grows while PostgreSQL is down: ${lag2}, ${lag3}, ${lag4}`);
      assert.equal(await w.gauge(pending), 25, 'the last pending count seen');

      await pgProxy.restore();
      es.fault = undefined;
      await within(30_000, () => `recovers (${w.stderr.slice(-400)})`, async () => (await w.health()) === 200);
      await within(5_000, 'nothing pending', async () => (await w.gauge(pending)) === 0 && (await w.gauge(lag)) === 0);
      assert.equal(await w.gauge('movies_healthy'), 1);
    } finally {
      const r = await w.stop();
      await es.stop();
      await pgProxy.stop();
      assert.equal(r.code, 0, w.stderr);
    }
  });

  it('a bulk request that hangs: /healthz 503 once the oldest change passes --max-lag, the gauges read the queue meanwhile', async () => {
    const es = new HttpFaultProxy(engine.url);
    await es.start();
    const w = await startWatch({ ...c.env, ELASTICSEARCH_URL: es.url() }, ['--poll-interval', '1', '--max-retry-time', '120', '--max-lag', '2']);
    try {
      await within(15_000, () => `healthy after the first cycle (${w.stderr})`, async () => (await w.health()) === 200);
      es.fault = () => 'hang';
      await touch(films.slice(30, 40), 'While the bulk hangs');
      await within(8_000, async () => `pending gauge reads 10 (${await w.gauge(pending)})`, async () => (await w.gauge(pending)) === 10);
      await within(8_000, async () => `/healthz 503 past --max-lag (${JSON.stringify(await w.healthz())})`, async () => (await w.health()) === 503);
      assert.match((await w.healthz()).reason, /--max-lag 2/);
      assert.ok((await w.gauge(lag))! > 2);
    } finally {
      es.fault = undefined;
      await es.stop();
      await w.stop();
    }
    // The hung films are indexed by the next run.
    assert.equal((await runCli(['start-etl'], c.env)).code, 0);
  });

  it('status reports pending documents and the oldest change from the database while the engine is unreachable', async () => {
    const down = new HttpFaultProxy(engine.url);
    down.match = /.*/;
    down.fault = () => ({ status: 503, body: '{"error":"unavailable"}' });
    await down.start();
    try {
      await touch(films.slice(50, 57), 'Waiting');
      await sleep(1_100);
      const r = await runCli(['--json', '--max-retry-time', '1', 'status'], { ...c.env, ELASTICSEARCH_URL: down.url() });
      assert.equal(r.code, ExitCode.connection, r.stderr);
      const s = JSON.parse(r.stdout) as { pending: number; oldestChangeSeconds?: number; health: string };
      assert.equal(s.health, 'unreachable');
      assert.equal(s.pending, 7);
      assert.ok((s.oldestChangeSeconds ?? 0) >= 1, `oldest change ${s.oldestChangeSeconds} s`);
      const text = await runCli(['--max-retry-time', '1', 'status'], { ...c.env, ELASTICSEARCH_URL: down.url() });
      assert.match(text.stdout, /pending +7 .*oldest change [\d.]+ (s|min) old/, text.stdout);
    } finally {
      await down.stop();
    }
    assert.equal((await runCli(['start-etl'], c.env)).code, 0);
  });

  it('status sees a watch whose cycles fail (exit 9 with the reason), one run row per failure streak, and sees it recover', async () => {
    const es = new HttpFaultProxy(engine.url);
    await es.start();
    const w = await startWatch({ ...c.env, ELASTICSEARCH_URL: es.url() }, ['--poll-interval', '1', '--max-retry-time', '1']);
    try {
      await within(15_000, () => `healthy after the first cycle (${w.stderr})`, async () => (await w.health()) === 200);
      const rowsBefore = Number((await c.db('movies.etl_run').count({ n: '*' }))[0]!.n);
      es.fault = () => ({ status: 503, body: '{"error":"unavailable"}' });
      await touch(films.slice(60, 70), 'Failing cycles');
      await within(20_000, () => `three cycles failed (${w.stderr.slice(-400)})`, async () => (w.stderr.match(/cycle failed/g) ?? []).length >= 3);
      const s = await runCli(['status'], c.env);
      assert.equal(s.code, ExitCode.lastRunFailed, `status exits 9: ${s.stdout}\n${s.stderr}`);
      assert.match(s.stdout, /last run +failed/);
      assert.match(s.stderr, /503|unavailable|unreachable/);
      const failed = await c.db('movies.etl_run').where('id', '>', rowsBefore).where({ outcome: 'failed' }).count({ n: '*' });
      assert.equal(Number(failed[0]!.n), 1, 'one row for the streak, not one per failed cycle');
      es.fault = undefined;
      await within(30_000, 'status exits 0 again once the watch recovers', async () => (await runCli(['status'], c.env)).code === 0);
    } finally {
      es.fault = undefined;
      const r = await w.stop();
      await es.stop();
      assert.equal(r.code, 0, w.stderr);
    }
  });
});
