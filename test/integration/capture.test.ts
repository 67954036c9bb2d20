import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runCli } from '../helpers/cli.js';
import { allDocs, changedIds } from '../helpers/engine.js';
import { serviceEnv } from '../helpers/env.js';
import { ENGINES } from '../helpers/engines.js';
import { CAPTURES } from '../helpers/captures.js';
import { assertIndexMatchesDatabase, engineCatalogue, runLockOf, type Catalogue } from '../helpers/catalogue.js';
import { ExitCode } from '../../src/core/errors.js';

const services = serviceEnv();

for (const capture of CAPTURES)
for (const engine of ENGINES) {
  describe(`change capture: one test per kind of write (${engine.name}, ${capture.mode})`, () => {
    let c: Catalogue;
    before(async () => {
      c = await engineCatalogue(engine, { films: 200, seed: 11, name: 'capture', capture });
    });
    after(async () => c?.cleanup());

    /** Applies a write, runs start-etl, and checks exactly `expected` documents changed. */
    async function expectRun(write: () => Promise<unknown>, expected: () => Promise<string[]> | string[]) {
      const beforeDocs = await allDocs(c.engineUrl, c.index);
      const want = [...new Set(await expected())].sort();
      await write();
      const r = await runCli(['--json', 'start-etl'], c.env);
      assert.equal(r.code, 0, r.stderr);
      const afterDocs = await allDocs(c.engineUrl, c.index);
      assert.deepEqual(changedIds(beforeDocs, afterDocs), want);
      await assertIndexMatchesDatabase(c);
      return JSON.parse(r.stdout) as { indexed: number; deleted: number };
    }
    const films = (q: unknown) => (q as Array<{ film_work_id: string }>).map((r) => r.film_work_id);
    const someFilm = async (offset: number) => (await c.db('content.film_work').orderBy('id').offset(offset).first('id')).id as string;

    it('film field update', async () => {
      const id = await someFilm(3);
      await expectRun(() => c.db('content.film_work').where({ id }).update({ title: 'A brand new title' }), () => [id]);
    });

    it('film edit that changes nothing indexed still converges', async () => {
      const id = await someFilm(4);
      await expectRun(() => c.db('content.film_work').where({ id }).update({ film_rating: 'PG-13' }), () => [id]);
    });

    it('genre rename', async () => {
      const g = await c.db('content.genre').orderBy('genre').first('id');
      await expectRun(
        () => c.db('content.genre').where({ id: g.id }).update({ genre: 'Renamed genre' }),
        async () => films(await c.db('content.film_work_genre').where({ genre_id: g.id }).select('film_work_id')),
      );
    });

    it('genre description edit reindexes nothing', async () => {
      const r = await expectRun(() => c.db('content.genre').update({ description: 'new text' }), () => []);
      assert.equal(r.indexed, 0);
    });

    it('person rename', async () => {
      const p = await c.db('content.film_work_person').orderBy('id').first('person_id');
      await expectRun(
        () => c.db('content.person').where({ id: p.person_id }).update({ name: 'Renamed Person' }),
        async () => films(await c.db('content.film_work_person').where({ person_id: p.person_id }).select('film_work_id')),
      );
    });

    it('genre link added', async () => {
      const id = await someFilm(10);
      const g = await c.db('content.genre').whereNotIn('id', c.db('content.film_work_genre').where({ film_work_id: id }).select('genre_id')).first('id');
      await expectRun(
        () => c.db('content.film_work_genre').insert({ id: '0a000000-0000-4000-8000-000000000001', film_work_id: id, genre_id: g.id }),
        () => [id],
      );
    });

    it('person link removed', async () => {
      const link = await c.db('content.film_work_person').orderBy('id').offset(20).first('id', 'film_work_id');
      await expectRun(() => c.db('content.film_work_person').where({ id: link.id }).delete(), () => [link.film_work_id]);
    });

    it('person link moved to another film', async () => {
      const link = await c.db('content.film_work_person').orderBy('id').offset(30).first('id', 'film_work_id');
      const other = await someFilm(50);
      await expectRun(() => c.db('content.film_work_person').where({ id: link.id }).update({ film_work_id: other }), () => [link.film_work_id, other]);
    });

    it('film deleted, with its links cascading', async () => {
      const id = await someFilm(60);
      const r = await expectRun(() => c.db('content.film_work').where({ id }).delete(), () => [id]);
      assert.equal(r.deleted, 1);
    });

    it('genre deleted, cascading to its links', async () => {
      const g = await c.db('content.genre').orderBy('genre').offset(2).first('id');
      await expectRun(
        () => c.db('content.genre').where({ id: g.id }).delete(),
        async () => films(await c.db('content.film_work_genre').where({ genre_id: g.id }).select('film_work_id')),
      );
    });

    it('person deleted, cascading to its links', async () => {
      const p = await c.db('content.film_work_person').orderBy('id').offset(40).first('person_id');
      await expectRun(
        () => c.db('content.person').where({ id: p.person_id }).delete(),
        async () => films(await c.db('content.film_work_person').where({ person_id: p.person_id }).select('film_work_id')),
      );
    });

    it('bulk UPDATE by other software (psql)', async () => {
      await expectRun(
        async () =>
          execFileSync('psql', [c.url, '-qc', "UPDATE content.film_work SET description = description || ' (remastered)' WHERE imdb_rating > 8"]),
        async () => (await c.db('content.film_work').where('imdb_rating', '>', 8).select('id')).map((r) => r.id as string),
      );
    });

    it('TRUNCATE of a link table by other software', async () => {
      await expectRun(
        async () => execFileSync('psql', [c.url, '-qc', 'TRUNCATE content.film_work_genre']),
        async () => films(await c.db('content.film_work_genre').distinct('film_work_id')),
      );
    });
  });

  describe(`change capture under concurrency, crashes and overlap (${engine.name}, ${capture.mode})`, () => {
    let c: Catalogue;
    before(async () => {
      c = await engineCatalogue(engine, { films: 600, seed: 12, name: 'conc', capture });
    });
    after(async () => c?.cleanup());

    it('a transaction that began before the run and commits after it is not lost', async () => {
      const [a, b] = (await c.db('content.film_work').orderBy('id').limit(2).select('id')).map((r) => r.id as string);
      // b is already pending with an older version when the long writer touches it.
      await c.db('content.film_work').where({ id: b }).update({ title: 'b, first edit' });
      const writer = new pg.Client({ connectionString: c.url });
      await writer.connect();
      try {
        await writer.query('BEGIN');
        await writer.query("UPDATE content.film_work SET title = 'a, long transaction' WHERE id = $1", [a]);
        await writer.query("UPDATE content.film_work SET title = 'b, long transaction' WHERE id = $1", [b]);
        const r = await runCli(['--json', 'start-etl'], c.env);
        assert.equal(r.code, 0, r.stderr);
        await writer.query('COMMIT');
      } finally {
        await writer.end();
      }
      const pending = (await c.db('movies.film_work_change').select('film_work_id')).map((r) => r.film_work_id).sort();
      // Triggers queued both in the writer's transaction; the slot has them until the next run collects it.
      if (capture.mode === 'triggers') assert.deepEqual(pending, [a, b].sort(), 'both films stay pending after the run');
      const r = await runCli(['--json', 'start-etl'], c.env);
      assert.equal(r.code, 0, r.stderr);
      await assertIndexMatchesDatabase(c);
    });

    it('a second start-etl exits at once with its own exit code; --wait waits', async () => {
      const holder = new pg.Client({ connectionString: c.url });
      await holder.connect();
      try {
        await holder.query('SELECT pg_advisory_lock($1::bigint)', [(await runLockOf(c)).key]);
        const started = Date.now();
        const r = await runCli(['start-etl'], c.env);
        assert.equal(r.code, ExitCode.locked, r.stderr);
        assert.match(r.stderr, /another movies run .* is writing to/);
        assert.ok(Date.now() - started < 10_000);
        const waiting = runCli(['--json', 'start-etl', '--wait'], c.env);
        await new Promise((res) => setTimeout(res, 1500));
        await holder.query('SELECT pg_advisory_unlock($1::bigint)', [(await runLockOf(c)).key]);
        const w = await waiting;
        assert.equal(w.code, 0, w.stderr);
      } finally {
        await holder.end();
      }
    });

    it('two concurrent start-etl processes: one runs, the other exits with the lock code', async () => {
      await c.db('content.film_work').update({ description: c.db.raw("description || '.'") });
      const [x, y] = await Promise.all([runCli(['start-etl', '--batch', '20'], c.env), runCli(['start-etl', '--batch', '20'], c.env)]);
      assert.deepEqual([x.code, y.code].sort(), [0, ExitCode.locked].sort(), x.stderr + y.stderr);
      await assertIndexMatchesDatabase(c);
    });

    it('SIGTERM stops after the in-flight pages, exits 130, and the next run converges', async () => {
      await c.db('content.film_work').update({ title: c.db.raw("left(title, 200) || ' t'") });
      const run = runCli(['start-etl', '--batch', '10', '--concurrency', '1'], c.env);
      for (let i = 0; i < 500; i++) {
        // Under way: the queue holds the edits (logical capture moves them there first) and some are done.
        const [{ n }] = (await c.db.raw('SELECT count(*)::int AS n FROM movies.film_work_change')).rows;
        if (n > 0 && n < 600) break;
        await new Promise((res) => setTimeout(res, 10));
      }
      run.kill('SIGTERM');
      const r = await run;
      assert.equal(r.code, ExitCode.interrupted, r.stderr);
      assert.match(r.stderr, /interrupted \(SIGTERM\)/);
      const st = JSON.parse((await runCli(['--json', 'status'], c.env)).stdout);
      assert.equal(st.lastRun.outcome, 'interrupted');
      assert.ok(st.pending > 0 && st.pending < 600, `some films still pending (${st.pending})`);
      assert.equal((await runCli(['start-etl'], c.env)).code, 0);
      await assertIndexMatchesDatabase(c);
    });

    it('SIGKILL at any moment: the next run converges', async () => {
      for (const delay of [150, 400, 900]) {
        await c.db('content.film_work').update({ title: c.db.raw("left(title, 200) || ' ' || ?", [String(delay)]) });
        const run = runCli(['start-etl', '--batch', '10', '--concurrency', '1'], c.env);
        await new Promise((res) => setTimeout(res, delay));
        run.kill('SIGKILL');
        const killed = await run;
        assert.ok(killed.signal === 'SIGKILL' || killed.code === 0);
        const r = await runCli(['--json', 'start-etl'], c.env);
        assert.equal(r.code, 0, r.stderr);
        await assertIndexMatchesDatabase(c, `after SIGKILL at ${delay} ms:`);
      }
      const s = await runCli(['--json', 'status'], c.env);
      assert.equal(s.code, 0, s.stderr);
      const st = JSON.parse(s.stdout);
      assert.equal(st.pending, 0);
      assert.equal(st.documents, st.films);
      assert.equal(st.lastRun.outcome, 'success');
    });
  });
}
