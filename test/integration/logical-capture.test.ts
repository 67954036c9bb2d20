import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runCli } from '../helpers/cli.js';
import { serviceEnv } from '../helpers/env.js';
import { ENGINES } from '../helpers/engines.js';
import { CAPTURES } from '../helpers/captures.js';
import { emptyDatabase } from '../helpers/db.js';
import { assertIndexMatchesDatabase, collectCaptured, engineCatalogue, type Catalogue } from '../helpers/catalogue.js';
import { restartService, serviceOf } from '../helpers/restart.js';
import { ExitCode } from '../../src/core/errors.js';
import { sleep, startWatch, titleInIndex, within } from '../helpers/watch.js';

/*
 * What only logical capture has: the server's requirements, the slot's lifecycle (lost, lagging,
 * recovered), and switching modes with writers running. The suites shared with trigger capture
 * (capture, watch, convergence) loop over both modes.
 */
const logical = CAPTURES.find((c) => c.mode === 'logical');
const engine = ENGINES[0]!;

/** Edits films one transaction at a time until stopped; returns how many it committed. */
function editLoop(c: Catalogue, ids: string[], tag: string): { stop(): Promise<number> } {
  let stopped = false;
  let n = 0;
  const loop = (async () => {
    while (!stopped) {
      await c.db('content.film_work').where({ id: ids[n % ids.length]! }).update({ title: `${tag} ${n}` });
      n++;
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return n;
    },
  };
}

if (logical) {
  describe(`logical capture: what the server must allow (${engine.name})`, () => {
    it('migrate --capture logical on a server with wal_level = replica: exit 2 naming the setting, nothing created', async (t) => {
      const h = await emptyDatabase(serviceEnv().DATABASE_URL);
      try {
        const level = (await h.db.raw("SELECT current_setting('wal_level') AS l")).rows[0].l;
        if (level === 'logical') return t.skip('DATABASE_URL\'s server has wal_level = logical: no server to refuse on');
        const r = await runCli(['migrate', '--capture', 'logical'], { DATABASE_URL: h.url });
        assert.equal(r.code, ExitCode.usage, r.stderr);
        assert.match(r.stderr, /wal_level = logical.*ALTER SYSTEM SET wal_level = logical/);
        const schemas = (await h.db.raw("SELECT nspname FROM pg_namespace WHERE nspname IN ('movies', 'content')")).rows;
        assert.deepEqual(schemas, [], 'migrate created nothing');
      } finally {
        await h.drop();
      }
    });

    it('a role that may not replicate: exit 2 naming ALTER ROLE ... REPLICATION; MOVIES_CAPTURE is read too', async () => {
      const h = await emptyDatabase(logical.databaseUrl);
      const role = `movies_norepl_${process.pid}`;
      try {
        await h.db.raw(`CREATE ROLE ${role} LOGIN`);
        await h.db.raw(`GRANT CREATE ON DATABASE ${new URL(h.url).pathname.slice(1)} TO ${role}`);
        const url = new URL(h.url);
        url.username = role;
        const r = await runCli(['migrate'], { DATABASE_URL: url.toString(), MOVIES_CAPTURE: 'logical' });
        assert.equal(r.code, ExitCode.usage, r.stderr);
        assert.match(r.stderr, new RegExp(`ALTER ROLE ${role} REPLICATION`));
        const bad = await runCli(['migrate'], { DATABASE_URL: h.url, MOVIES_CAPTURE: 'wal' });
        assert.equal(bad.code, ExitCode.usage);
        assert.match(bad.stderr, /MOVIES_CAPTURE must be triggers or logical/);
      } finally {
        await h.drop();
        const admin = new pg.Client({ connectionString: logical.databaseUrl });
        await admin.connect();
        await admin.query(`DROP ROLE IF EXISTS ${role}`);
        await admin.end();
      }
    });
  });

  describe(`logical capture: the slot's lifecycle (${engine.name})`, () => {
    let c: Catalogue;
    before(async () => {
      c = await engineCatalogue(engine, { films: 200, seed: 61, name: 'slot', capture: logical });
    });
    after(async () => c?.cleanup());

    it('WAL kept while nothing reads the slot: status reports it and exits 14 above --max-slot-lag, 0 once a run has read it', async () => {
      // About 9 MB of WAL for the slot to keep.
      for (let i = 0; i < 30; i++) await c.db('content.film_work').update({ description: c.db.raw("repeat(md5(random()::text), 20)") });
      const s = await runCli(['--json', 'status', '--max-slot-lag', '4MB'], c.env);
      assert.equal(s.code, ExitCode.slotLag, s.stderr);
      const st = JSON.parse(s.stdout);
      assert.equal(st.capture.mode, 'logical');
      assert.ok(st.capture.slot.retainedBytes > 4 * 1024 * 1024, `retained ${st.capture.slot.retainedBytes}`);
      assert.ok(st.capture.slot.lagBytes > 4 * 1024 * 1024 && st.capture.slot.lagBytes <= st.capture.slot.retainedBytes, `lag ${st.capture.slot.lagBytes}`);
      assert.match(s.stderr, /keeps [0-9,]+ bytes of WAL, over --max-slot-lag/);
      const bad = await runCli(['status', '--max-slot-lag', 'lots'], c.env);
      assert.equal(bad.code, ExitCode.usage);
      assert.equal((await runCli(['start-etl'], c.env)).code, 0);
      await assertIndexMatchesDatabase(c);
      // The server moves the slot's restart point at its next running-transactions record (a checkpoint writes one).
      await c.db.raw('CHECKPOINT');
      assert.equal((await runCli(['start-etl'], c.env)).code, 0);
      const again = await runCli(['--json', 'status', '--max-slot-lag', '4MB'], c.env);
      assert.equal(again.code, 0, again.stderr + again.stdout);
      assert.ok(JSON.parse(again.stdout).capture.slot.lagBytes < 1024 * 1024);
    });

    it('the slot dropped by hand: runs and status exit 13 and say to rebuild; init-es of every index makes a new slot and nothing is missed', async () => {
      const ids = (await c.db('content.film_work').orderBy('id').limit(3).select('id')).map((r) => r.id as string);
      const slot = (await c.db.raw('SELECT slot FROM movies.capture')).rows[0].slot as string;
      await c.db('content.film_work').where({ id: ids[0] }).update({ title: 'Edited before the slot went' });
      await c.db.raw('SELECT pg_drop_replication_slot(?)', [slot]);
      await c.db('content.film_work').where({ id: ids[1] }).update({ title: 'Edited without a slot' });
      const run = await runCli(['start-etl'], c.env);
      assert.equal(run.code, ExitCode.captureLost, run.stderr);
      assert.match(run.stderr, /replication slot .* is gone.*movies init-es/);
      const s = await runCli(['status'], c.env);
      assert.equal(s.code, ExitCode.captureLost, s.stderr);
      assert.match(s.stdout, /LOST/);
      // This database keeps the film index: rebuilding another one alone would leave it without its changes.
      const partial = await runCli(['init-es'], { ...c.env, MOVIES_ONLY: 'genres', MOVIES_INDEX_PREFIX: `slot_${process.pid}_` });
      assert.equal(partial.code, ExitCode.usage, partial.stderr);
      assert.match(partial.stderr, /for every index this database keeps/);
      const rebuilt = await runCli(['init-es'], c.env);
      assert.equal(rebuilt.code, 0, rebuilt.stderr);
      assert.notEqual((await c.db.raw('SELECT slot FROM movies.capture')).rows[0].slot, null, 'a new slot is recorded');
      await c.db('content.film_work').where({ id: ids[2] }).update({ title: 'Edited on the new slot' });
      const after = await runCli(['start-etl'], c.env);
      assert.equal(after.code, 0, after.stderr);
      await assertIndexMatchesDatabase(c);
      assert.equal((await runCli(['status'], c.env)).code, 0);
    });
  });

  describe(`logical capture: killed while it queues, PostgreSQL restarted (${engine.name})`, () => {
    let c: Catalogue;
    before(async () => {
      c = await engineCatalogue(engine, { films: 300, seed: 64, name: 'slotkill', capture: logical });
    });
    after(async () => c?.cleanup());

    /** Many transactions in the slot: each bulk edit of every film is one, and each link edit another. */
    async function backlog(tag: string, rounds: number): Promise<void> {
      for (let i = 0; i < rounds; i++) {
        await c.db('content.film_work').update({ title: c.db.raw("left(title, 150) || ' ' || ?", [`${tag}${i}`]) });
        const link = await c.db('content.film_work_person').orderBy('id').offset(i).first('id', 'film_work_id');
        await c.db('content.film_work_person').where({ id: link.id }).delete();
      }
    }

    it('SIGKILL while a run moves the slot into the queues: the next run converges, every time', async () => {
      let killedInCollect = 0;
      for (let round = 0; round < 4; round++) {
        await backlog(`k${round}`, 25);
        const run = runCli(['start-etl', '--batch', '50'], c.env);
        // Until the run streams the slot (its replication connection) or writes what it read.
        for (let i = 0; i < 2000; i++) {
          const r = await c.db.raw(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE (application_name = 'movies capture' AND backend_type = 'walsender')
                OR (application_name = 'movies' AND state = 'active' AND query ILIKE '%capture%')`,
          );
          if (r.rows[0].n > 0) {
            killedInCollect++;
            break;
          }
          await sleep(2);
        }
        run.kill('SIGKILL');
        await run;
        const r = await runCli(['--json', 'start-etl'], c.env);
        assert.equal(r.code, 0, r.stderr);
        await assertIndexMatchesDatabase(c, `after SIGKILL in round ${round}:`);
      }
      assert.ok(killedInCollect > 0, 'at least one kill landed while the slot was being queued');
    });

    it('killed after its queue rows committed but before the slot moved: the next collector skips what the queues have', async () => {
      await backlog('s', 5);
      // Just what a collector killed between its commit and moving the slot leaves behind:
      // applied_lsn at the end of what the slot holds, the slot itself not moved. The queue rows
      // that commit wrote are taken away here, so that a transaction applied twice would show.
      const at = (await c.db.raw('SELECT pg_current_wal_flush_lsn()::text AS at')).rows[0].at as string;
      const slot = (await c.db.raw('SELECT slot FROM movies.capture')).rows[0].slot as string;
      const confirmed = (await c.db.raw('SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = ?', [slot])).rows[0].l;
      await c.db.raw('UPDATE movies.capture SET applied_lsn = ?::pg_lsn', [at]);
      await c.db.raw('DELETE FROM movies.film_work_change');
      await c.db.raw('DELETE FROM movies.person_change');
      await collectCaptured(c);
      assert.equal((await c.db.raw('SELECT count(*)::int AS n FROM movies.film_work_change')).rows[0].n, 0, 'nothing applied twice');
      const moved = (await c.db.raw('SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = ?', [slot])).rows[0].l;
      assert.notEqual(moved, confirmed, 'the slot moved on to what the queues had');
      // Put the index back in step for the next test: the edits are in the database, not in the queues now.
      assert.equal((await runCli(['init-es'], c.env)).code, 0);
    });

    it('PostgreSQL restarted under a watch: the watch recovers by itself and nothing is missed', async (t) => {
      const name = serviceOf(logical.databaseUrl);
      if (!name) return t.skip(`the server at ${logical.databaseUrl} is not one services:up runs`);
      const film = (await c.db('content.film_work').orderBy('id').first('id')).id as string;
      const w = await startWatch(c.env, ['--poll-interval', '60', '--max-retry-time', '30']);
      try {
        await within(15_000, () => `healthy (${w.stderr})`, async () => (await w.health()) === 200);
        await backlog('r', 5);
        restartService(name);
        // The harness's pooled connections died with the server too: the first use of each fails.
        for (let i = 0; ; i++) {
          try {
            await c.db('content.film_work').where({ id: film }).update({ title: 'After the restart' });
            break;
          } catch (err) {
            if (i >= 10) throw err;
          }
        }
        await within(60_000, () => `the edit after the restart is searchable (${w.stderr.slice(-2000)})`, async () => (await titleInIndex(c, film)) === 'After the restart');
        await within(60_000, 'healthy again', async () => (await w.health()) === 200);
      } finally {
        assert.equal((await w.stop()).code, 0, w.stderr.slice(-3000));
      }
      await assertIndexMatchesDatabase(c);
    });
  });

  describe(`logical capture under a watch (${engine.name})`, () => {
    let c: Catalogue;
    before(async () => {
      c = await engineCatalogue(engine, { films: 100, seed: 63, name: 'slotwatch', capture: logical });
    });
    after(async () => c?.cleanup());

    it('/metrics carries the slot, /healthz says when it is past --max-slot-lag; a slot dropped under the watch ends it with exit 13', async () => {
      const film = (await c.db('content.film_work').orderBy('id').first('id')).id as string;
      const w = await startWatch(c.env, ['--poll-interval', '60', '--max-slot-lag', '1h']);
      try {
        await within(15_000, () => `healthy (${w.stderr})`, async () => (await w.health()) === 200);
        await c.db('content.film_work').where({ id: film }).update({ title: 'Seen through the slot' });
        await within(5_000, 'the edit is searchable', async () => (await titleInIndex(c, film)) === 'Seen through the slot');
        await within(5_000, 'the slot gauges are there', async () => ((await w.gauge('movies_slot_retained_wal_bytes')) ?? 0) > 0);
        assert.equal(await w.gauge('movies_slot_lost'), 0);
        assert.ok((await w.gauge('movies_slot_lag_bytes')) !== undefined);
      } finally {
        assert.equal((await w.stop()).code, 0);
      }
      // A limit any slot is past: unhealthy, with the reason.
      const tight = await startWatch(c.env, ['--poll-interval', '60', '--max-slot-lag', '1B']);
      try {
        await within(15_000, 'unhealthy for the slot', async () => /capture: replication slot .* over --max-slot-lag/.test((await tight.healthz()).reason));
        const slot = (await c.db.raw('SELECT slot FROM movies.capture')).rows[0].slot as string;
        // The watch streams again soon after its connection is killed, and a slot in use cannot be
        // dropped (55006): kill and drop until the drop lands between two of its connections.
        await within(10_000, 'the slot dropped under the watch', async () => {
          await c.db.raw('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = ? AND active_pid IS NOT NULL', [slot]);
          try {
            await c.db.raw('SELECT pg_drop_replication_slot(?)', [slot]);
            return true;
          } catch (err) {
            if ((err as { code?: string }).code === '55006') return false;
            throw err;
          }
        });
        const ended = await Promise.race([tight.exited, sleep(15_000).then(() => ({ code: -1, signal: null }))]);
        assert.equal(ended.code, ExitCode.captureLost, tight.stderr);
        assert.match(tight.stderr, /replication slot .* is gone.*movies init-es/);
      } finally {
        await tight.stop();
      }
    });
  });

  describe(`logical capture: a watch streams the slot while other commands need it (${engine.name})`, () => {
    let c: Catalogue;
    before(async () => {
      c = await engineCatalogue(engine, { films: 100, seed: 65, name: 'slotshare', capture: logical });
    });
    after(async () => c?.cleanup());

    it('verify and migrate --capture triggers beside a streaming watch: verify waits for the watch to pass its position, the switch ends the stream, the watch goes on with triggers', async () => {
      const ids = (await c.db('content.film_work').orderBy('id').limit(2).select('id')).map((r) => r.id as string);
      const w = await startWatch(c.env, ['--poll-interval', '60']);
      try {
        await within(15_000, () => `healthy (${w.stderr})`, async () => (await w.health()) === 200);
        const streaming = await c.db.raw("SELECT count(*)::int AS n FROM pg_replication_slots WHERE database = current_database() AND active");
        assert.equal(streaming.rows[0].n, 1, 'the watch streams the slot');
        await c.db('content.film_work').where({ id: ids[0] }).update({ title: 'Edited beside the stream' });
        const v = await runCli(['--json', 'verify'], c.env);
        assert.equal(v.code, 0, v.stderr + v.stdout);
        const m = await runCli(['--json', 'migrate', '--capture', 'triggers'], c.env);
        assert.equal(m.code, 0, m.stderr);
        await c.db('content.film_work').where({ id: ids[1] }).update({ title: 'Edited after the switch' });
        await within(10_000, () => `the edit after the switch is searchable (${w.stderr.slice(-1500)})`, async () => (await titleInIndex(c, ids[1]!)) === 'Edited after the switch');
        assert.equal(await titleInIndex(c, ids[0]!), 'Edited beside the stream');
      } finally {
        assert.equal((await w.stop()).code, 0, w.stderr.slice(-2000));
      }
      await assertIndexMatchesDatabase(c);
    });
  });

  describe(`switching capture modes with a writer running (${engine.name})`, () => {
    let c: Catalogue;
    before(async () => {
      c = await engineCatalogue(engine, { films: 200, seed: 62, name: 'switch', capture: { mode: 'triggers', databaseUrl: logical.databaseUrl } });
    });
    after(async () => c?.cleanup());

    it('triggers -> logical -> triggers while a writer commits: no edit is lost, and each mode leaves nothing of the other', async () => {
      const ids = (await c.db('content.film_work').orderBy('id').limit(20).select('id')).map((r) => r.id as string);
      for (const [to, objects] of [
        ['logical', { triggers: 0, slots: 1, publications: 1 }],
        ['triggers', { triggers: 1, slots: 0, publications: 0 }],
      ] as const) {
        const writer = editLoop(c, ids, `while switching to ${to}`);
        await new Promise((res) => setTimeout(res, 300));
        const m = await runCli(['--json', 'migrate', '--capture', to], c.env);
        await new Promise((res) => setTimeout(res, 300));
        const edits = await writer.stop();
        assert.equal(m.code, 0, m.stderr);
        assert.equal(JSON.parse(m.stdout).capture.mode, to);
        assert.ok(edits > 10, `the writer committed through the switch (${edits})`);
        const r = await runCli(['start-etl'], c.env);
        assert.equal(r.code, 0, r.stderr);
        await assertIndexMatchesDatabase(c, `after switching to ${to}:`);
        const seen = (
          await c.db.raw(
            `SELECT (SELECT count(*)::int FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid WHERE p.pronamespace = 'movies'::regnamespace) > 0 AS triggers,
                    (SELECT count(*)::int FROM pg_replication_slots WHERE database = current_database()) AS slots,
                    (SELECT count(*)::int FROM pg_publication) AS publications`,
          )
        ).rows[0];
        assert.deepEqual({ triggers: seen.triggers ? 1 : 0, slots: seen.slots, publications: seen.publications }, objects);
      }
    });

    it('detach in logical mode drops the slot and the publication with the rest', async () => {
      assert.equal((await runCli(['migrate', '--capture', 'logical'], c.env)).code, 0);
      const plan = await runCli(['detach', '--yes', '--json'], c.env);
      assert.equal(plan.code, 0, plan.stderr);
      assert.match(JSON.parse(plan.stdout).replication.join(' '), /publication movies_capture.*replication slot movies_capture_/);
      const left = (
        await c.db.raw(
          "SELECT (SELECT count(*)::int FROM pg_replication_slots WHERE database = current_database()) AS slots, (SELECT count(*)::int FROM pg_publication) AS publications",
        )
      ).rows[0];
      assert.deepEqual(left, { slots: 0, publications: 0 });
    });
  });
}
