import assert from 'node:assert/strict';
import { byName } from '../helpers/json.js';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { runCli } from '../helpers/cli.js';
import { HttpFaultProxy } from '../helpers/http-proxy.js';
import { freshDatabase } from '../helpers/db.js';
import { allDocs, deleteIndex, physicalIndexes } from '../helpers/engine.js';
import { ENGINES, mappingArgs, type Engine } from '../helpers/engines.js';
import { CAPTURES, type Capture } from '../helpers/captures.js';
import { root, serviceEnv } from '../helpers/env.js';
import { canonical, truth } from '../helpers/truth.js';
import { genreTruth, personTruth } from '../helpers/truth-indexes.js';
import { ExitCode } from '../../src/core/errors.js';
import type { VerifyResult } from '../../src/commands/verify.js';

const services = serviceEnv();
const ALL = 'movies,genres,persons';
const NAMES = ['movies', 'genres', 'persons'] as const;

type Db = Awaited<ReturnType<typeof freshDatabase>>;

/** A fresh database with a generated catalogue, its three indexes built and in step, under a prefix of its own. */
async function indexed(engine: Engine, name: string, films = 200, capture: Capture = { mode: 'triggers', databaseUrl: services.DATABASE_URL }) {
  const h = await freshDatabase(capture.databaseUrl, undefined, capture.mode);
  const prefix = `vf${name}_${engine.name.slice(0, 2)}${capture.mode.slice(0, 1)}${process.pid}_`;
  const env = { DATABASE_URL: h.url, ELASTICSEARCH_URL: engine.url, MOVIES_INDEX_PREFIX: prefix, MOVIES_ONLY: ALL };
  const file = join(mkdtempSync(join(tmpdir(), 'movies-')), 'catalogue.json');
  for (const args of [['generate', '--films', String(films), '--seed', '23', '--out', file], ['loaddata', file], ['init-es', ...mappingArgs(engine)], ['start-etl']]) {
    const r = await runCli(args, env);
    assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
  }
  return {
    ...h,
    env,
    prefix,
    engineUrl: engine.url,
    async physical(index: (typeof NAMES)[number]) {
      return (await physicalIndexes(engine.url, `${prefix}${index}`))[0]!;
    },
    async cleanup() {
      for (const n of NAMES) await deleteIndex(engine.url, `${prefix}${n}`);
      await h.drop();
    },
  };
}

async function verify(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; r: VerifyResult; stderr: string }> {
  const run = await runCli(['--json', 'verify', ...args], env);
  assert.ok(run.stdout.trim(), `verify printed a result: ${run.stderr}`);
  const parsed = JSON.parse(run.stdout) as Omit<VerifyResult, 'indexes'> & { indexes: Array<VerifyResult['indexes'][string]> };
  return { code: run.code, r: { ...parsed, indexes: byName(parsed.indexes) } as VerifyResult, stderr: run.stderr };
}

/** Every index equals an independent reading of the database, document by document. */
async function assertAllMatch(c: Db & { engineUrl: string; prefix: string }, context: string): Promise<void> {
  const [films, genres, persons] = await Promise.all(NAMES.map((n) => allDocs(c.engineUrl, `${c.prefix}${n}`)));
  const [wantFilms, wantGenres, wantPersons] = await Promise.all([truth(c.db), genreTruth(c.db), personTruth(c.db)]);
  assert.deepEqual([...films!.keys()].sort(), [...wantFilms.keys()].sort(), `${context}: film ids`);
  for (const [id, want] of wantFilms) assert.equal(canonical(films!.get(id)!.source), canonical(want), `${context}: film ${id}`);
  assert.deepEqual(new Map([...genres!].map(([id, d]) => [id, d.source])), wantGenres, `${context}: genres`);
  assert.deepEqual(new Map([...persons!].map(([id, d]) => [id, d.source])), wantPersons, `${context}: persons`);
}

async function send(url: string, method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  assert.ok(res.ok, `${method} ${path}: HTTP ${res.status} ${await res.text()}`);
}

const drift = (r: VerifyResult, index: string) => {
  const x = r.indexes[index]!;
  return { missing: x.missing.sample.sort(), stale: x.stale.sample.sort(), orphan: x.orphan.sample.sort() };
};
const none = { missing: [], stale: [], orphan: [] };

for (const capture of CAPTURES)
for (const engine of ENGINES) {
  describe(`movies verify (${engine.name}, ${capture.mode})`, () => {
    it('an index built by init-es and start-etl verifies clean, every document compared, exit 0', async () => {
      const c = await indexed(engine, 'clean', undefined, capture);
      try {
        // Hashed as UTF-8 bytes by the ETL (Node) and by verify (PostgreSQL): text outside ASCII must agree.
        await c.db('content.film_work').whereIn('id', c.db('content.film_work').select('id').orderBy('id').limit(1)).update({ title: 'Сталкер 🎬 — «Зона»' });
        const etl = await runCli(['start-etl'], c.env);
        assert.equal(etl.code, 0, etl.stderr);
        const { code, r, stderr } = await verify(c.env);
        assert.equal(code, 0, stderr);
        const want = { movies: await c.db('content.film_work').count({ n: '*' }), genres: await c.db('content.genre').count({ n: '*' }), persons: await c.db('content.person').count({ n: '*' }) };
        for (const n of NAMES) {
          assert.equal(r.indexes[n]!.database, Number(want[n][0]!.n), `${n}: every document of the database compared`);
          assert.equal(r.indexes[n]!.indexed, Number(want[n][0]!.n), `${n}: as many in the index`);
          assert.deepEqual(drift(r, n), none, n);
          assert.equal(r.indexes[n]!.physical, await c.physical(n), `${n}: the index behind the alias`);
        }
        assert.equal(r.drift, 0);
        const deep = await verify(c.env, '--deep');
        assert.equal(deep.code, 0, `--deep: whole documents equal too: ${deep.stderr}`);
        const found = await runCli(['--json', 'search', 'Сталкер'], c.env);
        assert.equal(found.code, 0, found.stderr);
        const hits = JSON.parse(found.stdout).hits as Array<Record<string, unknown>>;
        assert.equal(hits.length, 1, 'the film found');
        assert.ok(!('content_hash' in hits[0]!), 'search results leave the content hash out');
        assert.equal(deep.r.indexes.movies!.database, r.indexes.movies!.database);
      } finally {
        await c.cleanup();
      }
    });

    it('finds exactly the drift written to the engine (replaced, deleted, extra, hand-made id; edited in place with --deep); --repair then start-etl mends it', async () => {
      const c = await indexed(engine, 'engine', undefined, capture);
      try {
        const ids = (await c.db('content.film_work').select('id').orderBy('id').limit(4)).map((r) => r.id as string);
        const [edited, deleted, other, updated] = ids as [string, string, string, string];
        const films = await c.physical('movies');
        const docs = await allDocs(c.engineUrl, films);
        // Edited by hand: the whole document written again, with another title (no content hash).
        await send(c.engineUrl, 'PUT', `/${films}/_doc/${edited}`, { ...docs.get(edited)!.source, title: 'Edited by hand' });
        await send(c.engineUrl, 'DELETE', `/${films}/_doc/${deleted}`);
        const extra = '0badc0de-0000-4000-8000-000000000001';
        await send(c.engineUrl, 'PUT', `/${films}/_doc/${extra}`, { ...docs.get(other)!.source, id: extra, title: 'Nobody wrote me' });
        await send(c.engineUrl, 'PUT', `/${films}/_doc/hand-made`, { title: 'No id field at all' });
        // Edited in place: a partial update keeps the stored content hash; only --deep sees it.
        await send(c.engineUrl, 'POST', `/${films}/_update/${updated}`, { doc: { title: 'Partly edited' } });
        const person = (await c.db('content.person').select('id').orderBy('id').first()).id as string;
        await send(c.engineUrl, 'DELETE', `/${await c.physical('persons')}/_doc/${person}`);

        const first = await verify(c.env);
        assert.equal(first.code, ExitCode.drift, first.stderr);
        assert.deepEqual(drift(first.r, 'movies'), { missing: [deleted], stale: [edited], orphan: [extra, 'hand-made'].sort() });
        assert.deepEqual(drift(first.r, 'persons'), { missing: [person], stale: [], orphan: [] });
        assert.deepEqual(drift(first.r, 'genres'), none);
        assert.equal(first.r.drift, 5);
        assert.match(first.stderr, /5 document\(s\) differ from the database/);

        const deep = await verify(c.env, '--deep');
        assert.equal(deep.code, ExitCode.drift);
        assert.deepEqual(drift(deep.r, 'movies'), { missing: [deleted], stale: [edited, updated].sort(), orphan: [extra, 'hand-made'].sort() });
        assert.deepEqual(drift(deep.r, 'persons'), { missing: [person], stale: [], orphan: [] });

        const repair = await verify(c.env, '--repair', '--deep');
        assert.equal(repair.code, ExitCode.drift, 'drift found is drift, repaired or not');
        assert.deepEqual(repair.r.indexes.movies!.repaired, { enqueued: 4, deleted: 1 }, 'uuids queued, the hand-made id deleted');
        assert.deepEqual(repair.r.indexes.persons!.repaired, { enqueued: 1, deleted: 0 });
        const etl = await runCli(['start-etl'], c.env);
        assert.equal(etl.code, 0, etl.stderr);
        await assertAllMatch(c, 'after --repair and start-etl');
        const after = await verify(c.env, '--deep');
        assert.equal(after.code, 0, after.stderr);
      } finally {
        await c.cleanup();
      }
    });

    it('finds films and persons changed in PostgreSQL with the triggers off (session_replication_role = replica)', async (t) => {
      // The write-ahead log has every change: logical capture has no trigger to switch off.
      if (capture.mode !== 'triggers') return t.skip('trigger capture only');
      const c = await indexed(engine, 'replica');
      const client = new pg.Client({ connectionString: c.url });
      try {
        await client.connect();
        const film = (await c.db('content.film_work').select('id').orderBy('id', 'desc').first()).id as string;
        // A person with films: a new name changes their document and each of their films'.
        const person = (await c.db('content.film_work_person').select('person_id').orderBy('person_id').first()).person_id as string;
        const added = '0badc0de-0000-4000-8000-000000000002';
        await client.query("SET session_replication_role = 'replica'");
        await client.query('BEGIN');
        await client.query("UPDATE content.film_work SET title = 'Restored from elsewhere' WHERE id = $1", [film]);
        await client.query("UPDATE content.person SET name = 'Renamed without triggers' WHERE id = $1", [person]);
        await client.query("INSERT INTO content.film_work (id, title, description) VALUES ($1, 'Copied in', '')", [added]);
        await client.query('COMMIT');
        const pending = await c.db.raw('SELECT (SELECT count(*) FROM movies.film_work_change) + (SELECT count(*) FROM movies.person_change) AS n');
        assert.equal(Number(pending.rows[0].n), 0, 'no trigger fired: nothing is pending');

        const filmsOfPerson = (await c.db('content.film_work_person').distinct('film_work_id').where({ person_id: person })).map((r) => r.film_work_id as string);
        const staleFilms = [...new Set([film, ...filmsOfPerson])].sort();
        const first = await verify(c.env);
        assert.equal(first.code, ExitCode.drift, first.stderr);
        assert.equal(first.r.indexes.movies!.stale.count, staleFilms.length);
        assert.deepEqual(drift(first.r, 'movies'), { missing: [added], stale: staleFilms.slice(0, 10), orphan: [] });
        assert.deepEqual(drift(first.r, 'persons'), { missing: [], stale: [person], orphan: [] });
        assert.deepEqual(drift(first.r, 'genres'), none);

        assert.equal((await verify(c.env, '--repair')).code, ExitCode.drift);
        const etl = await runCli(['start-etl'], c.env);
        assert.equal(etl.code, 0, etl.stderr);
        await assertAllMatch(c, 'after --repair and start-etl');
        assert.equal((await verify(c.env)).code, 0);
      } finally {
        await client.end();
        await c.cleanup();
      }
    });

    it('a verify while a writer edits and runs index reports no false drift', async () => {
      const c = await indexed(engine, 'busy', 300, capture);
      const seconds = 12;
      const writer = spawn(process.execPath, ['--import', 'tsx', `${root}test/helpers/writer.ts`, c.url, '4242', String(seconds), '2'], {
        cwd: root,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const writing = new Promise<void>((resolve) => writer.on('close', () => resolve()));
      let done = false;
      void writing.then(() => (done = true));
      // Runs index the writer's changes meanwhile, as a cron or a watch would.
      const etl = (async () => {
        while (!done) {
          const r = await runCli(['start-etl', '--batch', '50'], c.env);
          assert.equal(r.code, 0, r.stderr);
        }
      })();
      void etl.catch(() => undefined); // awaited below; a failure meanwhile must not be an unhandled rejection
      try {
        const verdicts: Array<{ code: number | null; r: VerifyResult }> = [];
        let differing = 0;
        while (!done) {
          const v = await verify(c.env, '--page', '100');
          verdicts.push(v);
          differing += Object.values(v.r.indexes).reduce((a, x) => a + x.pending + x.changing, 0);
          assert.equal(v.code, 0, `verify #${verdicts.length} while writing: ${JSON.stringify(Object.values(v.r.indexes).map((x) => [x.missing, x.stale, x.orphan]))}`);
        }
        await etl;
        assert.ok(verdicts.length >= 2, `verify ran ${verdicts.length} times during the writes`);
        // The test means something only if verify met documents that differed while it read.
        assert.ok(differing > 0, 'verify met documents in flux (pending or changing)');
        const last = await runCli(['start-etl'], c.env);
        assert.equal(last.code, 0, last.stderr);
        await assertAllMatch(c, 'after the writer');
        assert.equal((await verify(c.env)).code, 0, 'in step once the writer stopped');
      } finally {
        writer.kill('SIGKILL');
        await writing;
        await etl.catch(() => undefined);
        await c.cleanup();
      }
    });
  });
}

describe('movies verify with two targets (one catalogue, both engines)', () => {
  it('verifies each target on its own: drift in one is not the other\'s, pending of one is not drift', async (t) => {
    if (ENGINES.length < 2) {
      t.skip('needs both engines (MOVIES_TEST_ENGINES selects one)');
      return;
    }
    const [os, es] = [ENGINES.find((e) => e.name === 'opensearch')!, ENGINES.find((e) => e.name === 'elasticsearch')!];
    const c = await indexed(os, 'two');
    const onEs = { ...c.env, ELASTICSEARCH_URL: es.url };
    try {
      for (const args of [['init-es', ...mappingArgs(es)], ['start-etl']]) {
        const r = await runCli(args, onEs);
        assert.equal(r.code, 0, `${args[0]} on ${es.name}: ${r.stderr}`);
      }
      const [gone, edited] = (await c.db('content.film_work').select('id').orderBy('id').limit(2)).map((r) => r.id as string) as [string, string];
      const esFilms = (await physicalIndexes(es.url, `${c.prefix}movies`))[0]!;
      await send(es.url, 'DELETE', `/${esFilms}/_doc/${gone}`);
      // A change indexed on OpenSearch only: pending for the Elasticsearch target.
      await c.db('content.film_work').where({ id: edited }).update({ title: 'Changed for both' });
      const etl = await runCli(['start-etl'], c.env);
      assert.equal(etl.code, 0, etl.stderr);

      const onOs = await verify(c.env);
      assert.equal(onOs.code, 0, `OpenSearch's target is in step: ${onOs.stderr}`);
      const other = await verify(onEs);
      assert.equal(other.code, ExitCode.drift, other.stderr);
      assert.deepEqual(drift(other.r, 'movies'), { missing: [gone], stale: [], orphan: [] });
      assert.equal(other.r.indexes.movies!.pending, 1, 'the change not yet indexed there is pending, not drift');
      assert.notEqual(other.r.indexes.movies!.target, onOs.r.indexes.movies!.target);
    } finally {
      for (const n of NAMES) await deleteIndex(es.url, `${c.prefix}${n}`);
      await c.cleanup();
    }
  });
});

describe('movies verify when the engine fails it', () => {
  const os = ENGINES[0]!;
  const cases: Array<[string, () => { status: number; body: string; product?: string } | 'hang']> = [
    // With Elasticsearch's product header: its client refuses a 2xx answer without one (exit 5) before we read it.
    ['a 200 answer without hits', () => ({ status: 200, body: '{"took":1,"timed_out":false}', product: 'Elasticsearch' })],
    ['503 to every search', () => ({ status: 503, body: '{"error":"unavailable"}' })],
    ['no answer at all', () => 'hang'],
  ];
  for (const [name, answer] of cases) {
    it(`${name}: exit 3 within the retry budget, nothing called drift or queued`, async () => {
      const c = await indexed(os, 'fail', 50);
      const proxy = new HttpFaultProxy(os.url);
      await proxy.start();
      try {
        proxy.match = /\/_search/;
        proxy.fault = () => answer();
        const started = Date.now();
        const r = await runCli(['--max-retry-time', '3', 'verify', '--repair'], { ...c.env, ELASTICSEARCH_URL: proxy.url() }, { timeoutMs: 60_000 });
        const seconds = (Date.now() - started) / 1000;
        assert.equal(r.code, ExitCode.connection, r.stderr);
        assert.ok(proxy.hits > 0, 'the fault was met');
        // The budget is 3 s; a request that hangs is cut at the request timeout derived from it (at least 10 s).
        assert.ok(seconds < 30, `bounded: ${seconds} s`);
        assert.equal(r.stdout, '', 'no report: nothing was compared');
        const queued = await c.db.raw('SELECT (SELECT count(*) FROM movies.film_work_change) + (SELECT count(*) FROM movies.person_change) + (SELECT count(*) FROM movies.genre_change) AS n');
        assert.equal(Number(queued.rows[0].n), 0, 'nothing queued by --repair');
      } finally {
        await proxy.stop();
        await c.cleanup();
      }
    });
  }
});
