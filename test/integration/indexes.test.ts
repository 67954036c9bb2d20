import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';
import { allDocs, changedIds, deleteIndex } from '../helpers/engine.js';
import { serviceEnv, sharedFixtureOrSkip } from '../helpers/env.js';
import { canonical, truth } from '../helpers/truth.js';
import { genreTruth, personTruth } from '../helpers/truth-indexes.js';
import { ExitCode } from '../../src/core/errors.js';

const services = serviceEnv();
const ALL = 'movies,genres,persons';

type Db = Awaited<ReturnType<typeof freshDatabase>>;

/** Each of the three indexes equals its independent reading of the database, document by document. */
async function assertAllIndexesMatch(db: Db, prefix: string, context = ''): Promise<{ films: number; genres: number; persons: number }> {
  const [films, genres, persons] = await Promise.all([
    allDocs(services.OPENSEARCH_URL, `${prefix}movies`),
    allDocs(services.OPENSEARCH_URL, `${prefix}genres`),
    allDocs(services.OPENSEARCH_URL, `${prefix}persons`),
  ]);
  const [wantFilms, wantGenres, wantPersons] = await Promise.all([truth(db.db), genreTruth(db.db), personTruth(db.db)]);
  assert.deepEqual([...films.keys()].sort(), [...wantFilms.keys()].sort(), `${context} film ids`);
  for (const [id, want] of wantFilms) assert.equal(canonical(films.get(id)!.source), canonical(want), `${context} film ${id}`);
  assert.deepEqual(new Map([...genres].map(([id, d]) => [id, d.source])), wantGenres, `${context} genre documents`);
  assert.deepEqual(new Map([...persons].map(([id, d]) => [id, d.source])), wantPersons, `${context} person documents`);
  return { films: films.size, genres: genres.size, persons: persons.size };
}

describe('three indexes kept in step: movies, genres, persons', () => {
  let h: Db;
  const prefix = `ix${process.pid}_`;
  let env: Record<string, string>;
  before(async () => {
    h = await freshDatabase(services.DATABASE_URL);
    env = { DATABASE_URL: h.url, ELASTICSEARCH_URL: services.OPENSEARCH_URL, MOVIES_INDEX_PREFIX: prefix, MOVIES_ONLY: ALL };
    const file = join(mkdtempSync(join(tmpdir(), 'movies-')), 'catalogue.json');
    for (const args of [['generate', '--films', '300', '--seed', '17', '--out', file], ['loaddata', file], ['init-es'], ['start-etl', '--batch', '100']]) {
      const r = await runCli(args, env);
      assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
    }
  });
  after(async () => {
    for (const name of ['movies', 'genres', 'persons']) await deleteIndex(services.OPENSEARCH_URL, `${prefix}${name}`);
    await h?.drop();
  });

  it('init-es and start-etl handle all three; status reports each; every document equals the database', async () => {
    const counts = await assertAllIndexesMatch(h, prefix);
    assert.equal(counts.films, 300);
    const s = await runCli(['--json', 'status'], env);
    assert.equal(s.code, 0, s.stdout + s.stderr);
    const st = JSON.parse(s.stdout);
    const byName = Object.fromEntries((st.indexes as Array<{ name: string; documents: number; index: string }>).map((i) => [i.name, i]));
    assert.deepEqual(Object.keys(byName), ['movies', 'genres', 'persons']);
    assert.equal(byName.genres!.documents, counts.genres);
    assert.equal(byName.persons!.documents, counts.persons);
    assert.equal(byName.persons!.index, `${prefix}persons`);
  });

  it('renaming a person reindexes exactly that person and the films they are in', async () => {
    const [link] = await h.db('content.film_work_person').select('person_id').limit(1);
    const person = link.person_id as string;
    const films = [...new Set((await h.db('content.film_work_person').where({ person_id: person }).select('film_work_id')).map((r) => r.film_work_id as string))].sort();
    const before = await Promise.all(['movies', 'genres', 'persons'].map((n) => allDocs(services.OPENSEARCH_URL, `${prefix}${n}`)));
    await h.db('content.person').where({ id: person }).update({ name: 'Renamed Person' });
    const r = await runCli(['--json', 'start-etl'], env);
    assert.equal(r.code, 0, r.stderr);
    const afterDocs = await Promise.all(['movies', 'genres', 'persons'].map((n) => allDocs(services.OPENSEARCH_URL, `${prefix}${n}`)));
    assert.deepEqual(changedIds(before[0]!, afterDocs[0]!), films, 'film documents rewritten');
    assert.deepEqual(changedIds(before[1]!, afterDocs[1]!), [], 'no genre document rewritten');
    assert.deepEqual(changedIds(before[2]!, afterDocs[2]!), [person], 'exactly the person document rewritten');
    await assertAllIndexesMatch(h, prefix, 'after the rename:');
  });

  it('genre and person edits, links moved and deletes reach every index', async () => {
    const [g] = await h.db('content.genre').select('id').limit(1);
    await h.db('content.genre').where({ id: g.id }).update({ description: 'new words' });
    const [p1, p2] = await h.db('content.person').select('id').orderBy('id').limit(2);
    await h.db('content.film_work_person').where({ person_id: p1.id }).update({ person_id: p2.id });
    const [f] = await h.db('content.film_work').select('id').orderBy('id', 'desc').limit(1);
    await h.db('content.film_work').where({ id: f.id }).delete();
    const [victim] = await h.db('content.genre').select('id').orderBy('id', 'desc').limit(1);
    await h.db('content.genre').where({ id: victim.id }).delete();
    const r = await runCli(['start-etl'], env);
    assert.equal(r.code, 0, r.stderr);
    await assertAllIndexesMatch(h, prefix, 'after edits and deletes:');
  });

  it('SIGKILL mid-run: the next run converges on all three', async () => {
    await h.db('content.person').update({ name: h.db.raw("name || ' k'") });
    await h.db('content.genre').update({ description: h.db.raw("description || ' k'") });
    const run = runCli(['start-etl', '--batch', '10', '--concurrency', '1'], env);
    await new Promise((res) => setTimeout(res, 700));
    run.kill('SIGKILL');
    await run;
    const r = await runCli(['start-etl'], env);
    assert.equal(r.code, 0, r.stderr);
    await assertAllIndexesMatch(h, prefix, 'after SIGKILL:');
  });

  it('--only restricts a command; search --in persons finds a person by name', async () => {
    await h.db('content.person').update({ name: h.db.raw("name || ' o'") });
    const r = await runCli(['--json', '--only', 'genres', 'start-etl'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout).indexes as Array<{ name: string }>).map((i) => i.name), ['genres']);
    assert.ok(Number((await h.db.raw('SELECT count(*)::int AS n FROM movies.person_change')).rows[0].n) > 0, 'persons stay pending');
    assert.equal((await runCli(['start-etl'], env)).code, 0);
    const [p] = await h.db('content.person').select('id', 'name').limit(1);
    const s = await runCli(['--json', 'search', '--in', 'persons', p.name], env);
    assert.equal(s.code, 0, s.stderr);
    assert.ok(JSON.parse(s.stdout).hits.some((x: { id: string }) => x.id === p.id), 'the person is found');
    const bad = await runCli(['--only', 'people', 'status'], env);
    assert.equal(bad.code, ExitCode.usage);
  });
});

describe('the original fixture in three indexes', () => {
  it('999 film, 26 genre and 4,164 person documents, each equal to the database', async (t) => {
    const fixture = sharedFixtureOrSkip(t);
    if (!fixture) return;
    const h = await freshDatabase(services.DATABASE_URL);
    const prefix = `orig${process.pid}_`;
    const env = { DATABASE_URL: h.url, ELASTICSEARCH_URL: services.OPENSEARCH_URL, MOVIES_INDEX_PREFIX: prefix, MOVIES_ONLY: ALL };
    try {
      for (const args of [['loaddata', fixture], ['init-es'], ['start-etl']]) {
        const r = await runCli(args, env);
        assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
      }
      assert.deepEqual(await assertAllIndexesMatch(h, prefix), { films: 999, genres: 26, persons: 4164 });
    } finally {
      for (const name of ['movies', 'genres', 'persons']) await deleteIndex(services.OPENSEARCH_URL, `${prefix}${name}`);
      await h.drop();
    }
  });
});
