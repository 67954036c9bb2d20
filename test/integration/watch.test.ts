import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { runCli } from '../helpers/cli.js';
import { ENGINES, mappingArgs } from '../helpers/engines.js';
import { CAPTURES } from '../helpers/captures.js';
import { HttpFaultProxy } from '../helpers/http-proxy.js';
import { assertIndexMatchesDatabase, engineCatalogue, type Catalogue } from '../helpers/catalogue.js';
import { ExitCode } from '../../src/core/errors.js';
import { freePort, sleep, startWatch, titleInIndex, within } from '../helpers/watch.js';

for (const capture of CAPTURES)
for (const engine of ENGINES) {
  describe(`start-etl --watch (${engine.name}, ${capture.mode})`, () => {
    let c: Catalogue;
    let film: string;
    before(async () => {
      c = await engineCatalogue(engine, { films: 300, seed: 51, name: 'watch', capture });
      film = (await c.db('content.film_work').orderBy('id').first('id')).id;
    });
    after(async () => c?.cleanup());

    it('a committed edit is searchable without a poll (none for a minute); /metrics and /healthz answer', async () => {
      const w = await startWatch(c.env, ['--poll-interval', '60']);
      try {
        await within(15_000, `/healthz says healthy after the first cycle (${w.stderr})`, async () => (await w.health()) === 200);
        await c.db('content.film_work').where({ id: film }).update({ title: 'Seen edit' });
        const ms = await within(5_000, 'the edit is searchable', async () => (await titleInIndex(c, film)) === 'Seen edit');
        console.log(`${engine.name}: edit searchable ${ms} ms after its commit`);
        await within(5_000, 'the counter counts it', async () => /^movies_documents_indexed_total\{index="movies"\} [1-9]/m.test(await w.metrics()));
        const metrics = await w.metrics();
        for (const name of ['movies_pending_documents', 'movies_lag_seconds', 'movies_documents_indexed_total', 'movies_cycle_duration_seconds_bucket', 'movies_last_success_timestamp_seconds', 'movies_healthy']) {
          assert.match(metrics, new RegExp(`^${name}`, 'm'), `${name} in /metrics`);
        }
        assert.match(metrics, /^movies_documents_indexed_total\{index="movies"\} [1-9]/m);
        const oneShot = await runCli(['start-etl'], c.env);
        assert.equal(oneShot.code, ExitCode.locked, 'a cron one-shot exits 6 at once while a watch runs');
        assert.match(oneShot.stderr, /start-etl --watch keeps/);
      } finally {
        const stopped = Date.now();
        const r = await w.stop();
        assert.equal(r.code, 0, `SIGTERM ends the watch with 0: ${w.stderr}`);
        assert.ok(Date.now() - stopped < 10_000, 'within 10 s');
      }
    });

    it('no capture path sends a NOTIFY: none of movies\' functions notifies, and writes of every kind under a watch send none', async () => {
      // Every capture path is a function in schema movies (src/capture/triggers/sql.ts) or none (logical); none may notify.
      const notifying = await c.db.raw<{ rows: Array<{ fn: string }> }>(
        `SELECT p.oid::regprocedure::text AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'movies' AND p.prosrc ~* 'notify'`,
      );
      assert.deepEqual(notifying.rows, [], 'no function of schema movies notifies');
      const triggers = await c.db.raw<{ rows: Array<{ n: number }> }>(
        "SELECT count(*)::int AS n FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'movies'",
      );
      if (capture.mode === 'triggers') assert.ok(triggers.rows[0]!.n >= 20, `the capture triggers are installed (${triggers.rows[0]!.n})`);
      else assert.equal(triggers.rows[0]!.n, 0, 'logical capture puts no trigger on the writers');
      const listener = new pg.Client({ connectionString: c.url });
      await listener.connect();
      const heard: string[] = [];
      listener.on('notification', (n) => heard.push(`${n.channel}: ${n.payload}`));
      // The channel earlier versions notified on.
      await listener.query('LISTEN movies_changes');
      const w = await startWatch(c.env, ['--poll-interval', '60']);
      try {
        await within(15_000, 'healthy', async () => (await w.health()) === 200);
        const genre = (await c.db('content.genre').orderBy('id').first('id')).id as string;
        const person = (await c.db('content.person').orderBy('id').first('id')).id as string;
        const link = (await c.db('content.film_work_person').orderBy('id').first('id')).id as string;
        await c.db('content.film_work').where({ id: film }).update({ title: 'Watched, not notified' });
        await c.db('content.genre').where({ id: genre }).update({ genre: 'Renamed under a watch' });
        await c.db('content.person').where({ id: person }).update({ name: 'Renamed under a watch' });
        await c.db('content.film_work_person').where({ id: link }).update({ job: 'writer' });
        await c.db('content.film_work_genre').insert({ id: randomUUID(), film_work_id: film, genre_id: genre });
        await within(5_000, 'the watch indexed the edit', async () => (await titleInIndex(c, film)) === 'Watched, not notified');
        await sleep(300);
        assert.deepEqual(heard, [], 'no notification');
      } finally {
        assert.equal((await w.stop()).code, 0);
        await listener.end();
      }
    });

    it('a change queued by other software (a queue row written by hand) wakes the watch, with no poll for a minute', async () => {
      const w = await startWatch(c.env, ['--poll-interval', '60']);
      try {
        await within(15_000, 'healthy', async () => (await w.health()) === 200);
        // Written with triggers off (no queue row from capture), then queued by hand: the watch sees the queue change.
        const client = new pg.Client({ connectionString: c.url });
        await client.connect();
        await client.query('BEGIN');
        await client.query("SET LOCAL session_replication_role = replica");
        await client.query("UPDATE content.film_work SET title = 'Polled edit' WHERE id = $1", [film]);
        await client.query(
          `INSERT INTO movies.film_work_change (target_id, film_work_id) SELECT id, $1 FROM movies.etl_target WHERE index_name = 'movies'
           ON CONFLICT (target_id, film_work_id) DO UPDATE SET version = excluded.version`,
          [film],
        );
        await client.query('COMMIT');
        await client.end();
        await within(5_000, 'the polled edit is searchable', async () => (await titleInIndex(c, film)) === 'Polled edit');
      } finally {
        assert.equal((await w.stop()).code, 0);
      }
    });

    it('init-es during a watch moves the alias between two cycles; later edits reach the new index', async () => {
      const w = await startWatch(c.env, ['--poll-interval', '1']);
      try {
        await within(15_000, 'healthy', async () => (await w.health()) === 200);
        const rebuilt = await runCli(['--json', 'init-es', ...mappingArgs(engine)], c.env);
        assert.equal(rebuilt.code, 0, rebuilt.stderr);
        await c.db('content.film_work').where({ id: film }).update({ title: 'After the rebuild' });
        await within(10_000, 'the edit is searchable in the new index', async () => (await titleInIndex(c, film)) === 'After the rebuild');
        const aliases = (await (await fetch(`${c.engineUrl}/_alias/${c.index}`)).json()) as Record<string, unknown>;
        assert.deepEqual(Object.keys(aliases), [JSON.parse(rebuilt.stdout).physical]);
      } finally {
        assert.equal((await w.stop()).code, 0, w.stderr);
      }
    });

    it('PostgreSQL connections killed and the engine cut: unhealthy meanwhile, then it recovers by itself and converges', async () => {
      const proxy = new HttpFaultProxy(c.engineUrl);
      proxy.match = /.*/;
      await proxy.start();
      const w = await startWatch({ ...c.env, ELASTICSEARCH_URL: proxy.url() }, ['--poll-interval', '1', '--max-retry-time', '2']);
      try {
        await within(15_000, `/healthz says healthy after the first cycle (${w.stderr})`, async () => (await w.health()) === 200);
        // Every connection of the watch (its pool, its lock, its listener) is terminated.
        const admin = new pg.Client({ connectionString: c.url });
        await admin.connect();
        const killed = await admin.query(
          "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'movies%' AND pid <> pg_backend_pid()",
        );
        await admin.end();
        assert.ok(killed.rows[0].n > 0, 'the watch had connections to kill');
        await c.db('content.film_work').where({ id: film }).update({ title: 'After the kill' });
        await within(20_000, 'the edit after the kill is searchable', async () => (await titleInIndex(c, film)) === 'After the kill');

        proxy.fault = () => ({ status: 503, body: '{"error":"cut"}' });
        await c.db('content.film_work').where({ id: film }).update({ title: 'During the cut' });
        await within(30_000, '/healthz says unhealthy during the cut', async () => (await w.health()) === 503);
        // /healthz turns 503 at the first retry; the cycle is counted as failed once its budget (2 s) is spent.
        await within(10_000, 'the failed cycle is counted as an outage', async () => /^movies_failures_total\{kind="outage"\} [1-9]/m.test(await w.metrics()));
        proxy.fault = undefined;
        await within(40_000, '/healthz recovers', async () => (await w.health()) === 200);
        await within(10_000, 'the edit made during the cut is searchable', async () => (await titleInIndex(c, film)) === 'During the cut');
        // The live target's pending count (a rebuild in an earlier test left a kept target, which collects changes too).
        await within(10_000, 'nothing pending for the live index', async () => /^movies_pending_documents\{index="movies"\} 0$/m.test(await w.metrics()));
        await assertIndexMatchesDatabase(c, 'after the outages:');
        assert.match(w.stderr, /cycle failed \(outage\)/);
      } finally {
        const r = await w.stop();
        await proxy.stop();
        assert.equal(r.code, 0, w.stderr);
      }
    });
  });
}
