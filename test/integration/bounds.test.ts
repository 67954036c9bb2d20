import assert from 'node:assert/strict';
import pg from 'pg';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { serviceEnv } from '../helpers/env.js';
import { HttpFaultProxy } from '../helpers/http-proxy.js';
import { Proxy } from '../helpers/proxy.js';
import { assertIndexMatchesDatabase, assertNothingFalselyMarked, indexedCatalogue, pendingCount, runLockOf, type Catalogue } from '../helpers/catalogue.js';
import { ExitCode } from '../../src/core/errors.js';

const services = serviceEnv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SQL = /\b(select|insert into|update content|delete from)\b/i;

describe('bounds: every wait ends, signals stop runs promptly, status tells the truth', () => {
  let c: Catalogue;
  let engine: HttpFaultProxy;
  let pgProxy: Proxy;
  before(async () => {
    c = await indexedCatalogue({ databaseUrl: services.DATABASE_URL, engineUrl: services.OPENSEARCH_URL, films: 400, seed: 91, index: `movies_bounds_${process.pid}` });
    engine = new HttpFaultProxy(services.OPENSEARCH_URL);
    await engine.start();
    pgProxy = Proxy.forUrl(c.url);
    await pgProxy.start();
  });
  after(async () => {
    await engine?.stop();
    await pgProxy?.stop();
    await c?.cleanup();
  });

  const pending = () => pendingCount(c);
  const touchAll = () => c.db('content.film_work').update({ description: c.db.raw("description || '~'") });
  const lastRun = async () => c.db('movies.etl_run').orderBy('id', 'desc').first();
  async function waitForProgress(total: number) {
    for (let i = 0; i < 1000 && (await pending()) >= total; i++) await sleep(10);
  }
  async function timed<T>(p: Promise<T>): Promise<[T, number]> {
    const t = Date.now();
    const r = await p;
    return [r, (Date.now() - t) / 1000];
  }
  const reset = async () => {
    engine.fault = undefined;
    engine.match = /\/_bulk/;
    engine.hits = 0;
    await pgProxy.cut();
    await pgProxy.restore();
  };

  it('an engine that never answers: exit 3 within 45 s with --max-retry-time 5, nothing marked', async () => {
    await reset();
    await touchAll();
    engine.fault = () => 'hang';
    const [r, s] = await timed(runCli(['start-etl', '--max-retry-time', '5'], { ...c.env, ELASTICSEARCH_URL: engine.url() }));
    assert.equal(r.code, ExitCode.connection, r.stderr);
    assert.ok(s < 45, `took ${s} s`);
    assert.match(r.stderr, /timeout|timed out/i);
    assert.equal(await pending(), 400);
    // Not even GET / answers.
    engine.match = /./;
    const [r2, s2] = await timed(runCli(['start-etl', '--max-retry-time', '5'], { ...c.env, ELASTICSEARCH_URL: engine.url() }));
    assert.equal(r2.code, ExitCode.connection, r2.stderr);
    assert.ok(s2 < 45, `took ${s2} s`);
    await reset();
  });

  it('a PostgreSQL that stops answering mid-run: non-zero within 45 s, nothing falsely marked', async () => {
    await reset();
    await touchAll();
    const run = runCli(['--json', 'start-etl', '--batch', '10', '--concurrency', '1', '--max-retry-time', '5'], { ...c.env, DATABASE_URL: pgProxy.url(c.url) });
    await waitForProgress(400);
    const t = Date.now();
    pgProxy.freeze();
    const r = await run;
    const s = (Date.now() - t) / 1000;
    await reset();
    assert.equal(r.code, ExitCode.connection, r.stderr);
    assert.ok(s < 45, `took ${s} s after the freeze`);
    assert.match(r.stderr, /PostgreSQL/);
    // Nothing but the --json error object on stdout (knex warnings go to stderr).
    assert.deepEqual(Object.keys(JSON.parse(r.stdout)), ['error'], r.stdout);
    assert.equal(JSON.parse(r.stdout).error.kind, 'connection');
    await assertNothingFalselyMarked(c);
  });

  it('a lock held on the change table: exit 3 within 45 s, one clear line, no SQL on the terminal or in the run record', async () => {
    await reset();
    await touchAll();
    const holder = new pg.Client({ connectionString: c.url });
    await holder.connect();
    await holder.query('BEGIN; LOCK TABLE movies.film_work_change IN ACCESS EXCLUSIVE MODE');
    try {
      const [r, s] = await timed(runCli(['start-etl', '--max-retry-time', '5'], c.env));
      assert.equal(r.code, ExitCode.connection, r.stderr);
      assert.ok(s < 45, `took ${s} s`);
      assert.match(r.stderr, /lock was not granted|statement-timeout/);
      assert.doesNotMatch(r.stderr, SQL);
      assert.equal(r.stderr.split('\n').filter((l) => /error:/.test(l)).length, 1);
      // The statement timeout: a faster bound, the same kind of message.
      const quick = await runCli(['--statement-timeout', '1', 'start-etl', '--max-retry-time', '0'], c.env);
      assert.equal(quick.code, ExitCode.connection, quick.stderr);
      assert.doesNotMatch(quick.stderr, SQL);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    const run = await lastRun();
    assert.equal(run.outcome, 'failed');
    assert.doesNotMatch(String(run.error), SQL);
    assert.equal((await runCli(['start-etl'], c.env)).code, 0);
  });

  it('SIGTERM during engine retries ends the run at once: exit 130, recorded as interrupted', async () => {
    await reset();
    await touchAll();
    engine.fault = () => ({ status: 503, body: '{"error":{"type":"unavailable","reason":"busy"}}' });
    const run = runCli(['start-etl', '--max-retry-time', '120'], { ...c.env, ELASTICSEARCH_URL: engine.url() });
    while (engine.hits < 2) await sleep(50);
    const t = Date.now();
    run.kill('SIGTERM');
    const r = await run;
    const s = (Date.now() - t) / 1000;
    assert.equal(r.code, ExitCode.interrupted, r.stderr);
    assert.ok(s < 8, `stopped ${s} s after SIGTERM`);
    assert.equal((await lastRun()).outcome, 'interrupted');
    assert.equal(await pending(), 400);
    await reset();
  });

  it('SIGTERM with PostgreSQL frozen: exit 130 within the stop bound', async () => {
    await reset();
    await touchAll();
    const run = runCli(['start-etl', '--batch', '10', '--concurrency', '1', '--max-retry-time', '120'], { ...c.env, DATABASE_URL: pgProxy.url(c.url) });
    await waitForProgress(400);
    pgProxy.freeze();
    await sleep(500);
    const t = Date.now();
    run.kill('SIGTERM');
    const r = await run;
    const s = (Date.now() - t) / 1000;
    await reset();
    assert.equal(r.code, ExitCode.interrupted, r.stderr);
    assert.ok(s < 15, `stopped ${s} s after SIGTERM`);
    await assertNothingFalselyMarked(c);
  });

  it('an interrupted run records exactly what it marked', async () => {
    await reset();
    await touchAll();
    const run = runCli(['start-etl', '--batch', '10', '--concurrency', '1'], { ...c.env, ELASTICSEARCH_URL: engine.url() });
    engine.fault = async (_req, forward) => {
      await sleep(30);
      return forward();
    };
    await waitForProgress(400);
    await sleep(200);
    run.kill('SIGTERM');
    const r = await run;
    assert.equal(r.code, ExitCode.interrupted, r.stderr);
    const left = await pending();
    const rec = await lastRun();
    assert.equal(rec.outcome, 'interrupted');
    assert.ok(left > 0 && left < 400, `some films left pending (${left})`);
    assert.equal(Number(rec.indexed), 400 - left, 'the record counts what was marked');
    await assertNothingFalselyMarked(c);
    await reset();
  });

  it('status: "running" only for a run on this database', async () => {
    const other = new URL(c.url);
    other.pathname = '/postgres';
    const elsewhere = new pg.Client({ connectionString: other.toString() });
    await elsewhere.connect();
    await elsewhere.query('SELECT pg_advisory_lock($1::bigint)', [(await runLockOf(c)).key]);
    try {
      assert.equal(JSON.parse((await runCli(['--json', 'status'], c.env)).stdout).running, false);
    } finally {
      await elsewhere.end();
    }
    const here = new pg.Client({ connectionString: c.url });
    await here.connect();
    await here.query('SELECT pg_advisory_lock($1::bigint)', [(await runLockOf(c)).key]);
    try {
      assert.equal(JSON.parse((await runCli(['--json', 'status'], c.env)).stdout).running, true);
    } finally {
      await here.end();
    }
  });

  it('status exit codes: 0 healthy, 8 index missing, 9 last run failed, 3 engine unreachable; the report is printed each time', async () => {
    await reset();
    assert.equal((await runCli(['start-etl'], c.env)).code, 0);
    const ok = await runCli(['--json', 'status'], c.env);
    assert.equal(ok.code, 0, ok.stdout);
    const missing = await runCli(['--json', 'status'], { ...c.env, MOVIES_INDEX: `${c.index}_nope` });
    assert.equal(missing.code, ExitCode.indexMissing);
    assert.equal(JSON.parse(missing.stdout).health, 'index-missing');
    await touchAll();
    engine.fault = () => ({ status: 503, body: '{}' });
    assert.equal((await runCli(['start-etl', '--max-retry-time', '0'], { ...c.env, ELASTICSEARCH_URL: engine.url() })).code, ExitCode.connection);
    const failed = await runCli(['status'], c.env);
    assert.equal(failed.code, ExitCode.lastRunFailed);
    assert.match(failed.stdout, /last run\s+failed/);
    const down = await runCli(['--max-retry-time', '0', 'status'], { ...c.env, ELASTICSEARCH_URL: 'http://127.0.0.1:2' });
    assert.equal(down.code, ExitCode.connection);
    assert.match(down.stdout, /pending/);
    await reset();
    assert.equal((await runCli(['start-etl'], c.env)).code, 0);
    assert.equal((await runCli(['status'], c.env)).code, 0);
    await assertIndexMatchesDatabase(c);
  });
});

describe('bulk mode: a failed run puts the index settings back before it exits', () => {
  let c: Catalogue;
  let engine: HttpFaultProxy;
  before(async () => {
    // 10,000 films: the bulk-mode threshold.
    c = await indexedCatalogue({ databaseUrl: services.DATABASE_URL, engineUrl: services.OPENSEARCH_URL, films: 10_000, seed: 93, index: `movies_bulkmode_${process.pid}` });
    engine = new HttpFaultProxy(services.OPENSEARCH_URL);
    await engine.start();
  });
  after(async () => {
    await engine?.stop();
    await c?.cleanup();
  });

  it('restores refresh_interval after a failure, and never touches replicas', async () => {
    const settingsUrl = `${services.OPENSEARCH_URL}/${c.index}/_settings?flat_settings=true`;
    const before = (await (await fetch(settingsUrl)).json()) as Record<string, { settings: Record<string, string> }>;
    await c.db('content.film_work').update({ description: c.db.raw("description || '#'") });
    let bulks = 0;
    engine.fault = (_req, forward) => (++bulks > 3 ? { status: 400, body: '{"error":{"type":"illegal_argument_exception","reason":"no"}}' } : forward());
    const r = await runCli(['start-etl', '--batch', '500'], { ...c.env, ELASTICSEARCH_URL: engine.url() });
    assert.equal(r.code, ExitCode.engineRejected, r.stderr);
    const afterRun = (await (await fetch(settingsUrl)).json()) as Record<string, { settings: Record<string, string> }>;
    const s = Object.values(afterRun)[0]!.settings;
    assert.notEqual(s['index.refresh_interval'], '-1', 'refresh is back on');
    assert.equal(s['index.number_of_replicas'], Object.values(before)[0]!.settings['index.number_of_replicas']);
    assert.equal(Number((await c.db.raw('SELECT count(*)::int AS n FROM movies.etl_saved_settings')).rows[0].n), 0);
    engine.fault = undefined;
    assert.equal((await runCli(['start-etl'], c.env)).code, 0);
  });
});
