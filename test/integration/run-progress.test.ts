import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { serviceEnv } from '../helpers/env.js';
import { HttpFaultProxy } from '../helpers/http-proxy.js';
import { indexedCatalogue, type Catalogue } from '../helpers/catalogue.js';

const services = serviceEnv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const FILMS = 400;
const BATCH = 10;
const BULK_DELAY_MS = 120;

interface Reading {
  running: boolean;
  outcome: string | undefined;
  indexed: number;
  /** Films marked as status saw it: all of them less what it still saw pending. */
  marked: number;
}

/**
 * A run slowed down by an engine that answers each bulk request late: `status --json`, read while
 * it goes, must say how far it is (indexed so far, pending left), not "indexed 0".
 */
describe('status during a run shows how far the run is', () => {
  let c: Catalogue;
  let engine: HttpFaultProxy;
  before(async () => {
    c = await indexedCatalogue({ databaseUrl: services.DATABASE_URL, engineUrl: services.OPENSEARCH_URL, films: FILMS, seed: 211, index: `movies_progress_${process.pid}` });
    engine = new HttpFaultProxy(services.OPENSEARCH_URL);
    engine.fault = async (_req, forward) => {
      await sleep(BULK_DELAY_MS);
      return forward();
    };
    await engine.start();
  });
  after(async () => {
    await engine?.stop();
    await c?.cleanup();
  });

  it('status --json reads indexed > 0 during the run, never more than is marked and at most about a second behind', async () => {
    await c.db('content.film_work').update({ description: c.db.raw("description || '+'") });
    const run = runCli(['start-etl', '--batch', String(BATCH), '--concurrency', '1'], { ...c.env, ELASTICSEARCH_URL: engine.url() });
    const readings: Reading[] = [];
    const snapshots: Array<{ indexed: number; marked: number }> = [];
    let finished = false;
    void run.then(() => (finished = true));
    while (!finished) {
      const s = await runCli(['status', '--json'], c.env);
      const r = JSON.parse(s.stdout) as { running: boolean; pending: number; lastRun: { outcome: string; indexed: number } | null };
      if (r.running && r.lastRun?.outcome === 'running') {
        readings.push({ running: r.running, outcome: r.lastRun.outcome, indexed: r.lastRun.indexed, marked: FILMS - r.pending });
      }
      // One statement, one snapshot: the recorded count next to what the queue says is marked.
      const snap = (await c.db.raw(
        `SELECT (SELECT indexed FROM movies.etl_run ORDER BY id DESC LIMIT 1)::int AS indexed,
                (SELECT count(*) FROM movies.film_work_change)::int AS pending`,
      )).rows[0] as { indexed: number; pending: number };
      snapshots.push({ indexed: snap.indexed, marked: FILMS - snap.pending });
      await sleep(300);
    }
    const done = await run;
    assert.equal(done.code, 0, done.stderr);
    assert.ok(readings.length >= 3, `status read the run while it went ${readings.length} times`);
    const late = readings.slice(1);
    assert.ok(
      late.every((r) => r.indexed > 0),
      `every reading after the first shows progress: ${JSON.stringify(readings)}`,
    );
    // About a second of pages (and the one in flight) is as far as the figure may be from the
    // marks; status reads the queue and the run's row in two statements, so either way.
    const slack = BATCH * (Math.ceil(1000 / BULK_DELAY_MS) + 3);
    for (const r of readings) assert.ok(Math.abs(r.marked - r.indexed) <= slack, `status's figure is close to the marks: ${JSON.stringify(r)}`);
    for (const s of snapshots) {
      assert.ok(s.indexed <= s.marked, `never more than is marked: ${JSON.stringify(s)}`);
      assert.ok(s.marked - s.indexed <= slack, `at most about a second behind the marks: ${JSON.stringify(s)}`);
    }
    const row = await c.db('movies.etl_run').orderBy('id', 'desc').first();
    assert.deepEqual([row.outcome, Number(row.indexed)], ['success', FILMS], 'the finished run records its final counts');
  });

  it('a progress write that fails costs the run nothing: it ends with success and its final counts', async () => {
    // Every UPDATE of a run still running (the progress writes) fails in the database itself.
    await c.db.raw(`CREATE FUNCTION movies.no_progress() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.outcome = 'running' THEN RAISE EXCEPTION 'progress refused by the test'; END IF; RETURN NEW; END $$`);
    await c.db.raw('CREATE TRIGGER no_progress BEFORE UPDATE ON movies.etl_run FOR EACH ROW EXECUTE FUNCTION movies.no_progress()');
    try {
      await c.db('content.film_work').update({ description: c.db.raw("description || '-'") });
      const r = await runCli(['start-etl', '--batch', String(BATCH * 4), '--concurrency', '1'], { ...c.env, ELASTICSEARCH_URL: engine.url() });
      assert.equal(r.code, 0, r.stderr);
      const row = await c.db('movies.etl_run').orderBy('id', 'desc').first();
      assert.deepEqual([row.outcome, Number(row.indexed)], ['success', FILMS]);
    } finally {
      await c.db.raw('DROP TRIGGER no_progress ON movies.etl_run; DROP FUNCTION movies.no_progress()');
    }
  });
});
