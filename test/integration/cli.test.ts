import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';
import { allDocs, changedIds, deleteIndex } from '../helpers/engine.js';
import { serviceEnv, sharedFixtureOrSkip } from '../helpers/env.js';
import { ENGINES, mappingArgs } from '../helpers/engines.js';
import { canonical, truth } from '../helpers/truth.js';
import { ExitCode } from '../../src/core/errors.js';

const services = serviceEnv();
const index = `movies_cli_${process.pid}`;

for (const engine of ENGINES) {
  describe(`movies CLI on the original fixture (${engine.name}, ${engine.mapping ?? 'default'} mapping)`, () => {
    let h: Awaited<ReturnType<typeof freshDatabase>>;
    let env: Record<string, string>;
    before(async () => {
      h = await freshDatabase(services.DATABASE_URL);
      env = { DATABASE_URL: h.url, ELASTICSEARCH_URL: engine.url, MOVIES_INDEX: index };
    });
    after(async () => {
      await deleteIndex(engine.url, index);
      await h.drop();
    });

    it('migrate is idempotent', async () => {
      const r = await runCli(['--json', 'migrate'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).applied, []);
    });

    it('loads the original fixture with the exact counts', async (t) => {
      const fixture = sharedFixtureOrSkip(t);
      if (!fixture) return;
      const r = await runCli(['--json', 'loaddata', fixture], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).counts, {
        'movies.genre': 26,
        'movies.person': 4164,
        'movies.filmwork': 999,
        'movies.filmworkgenre': 2231,
        'movies.filmworkperson': 5936,
      });
      const [{ n }] = (await h.db.raw('SELECT count(*)::int AS n FROM content.film_work_person')).rows;
      assert.equal(n, 5936);
    });

    it('init-es builds 999 documents equal to an independent SQL reading; start-etl then has nothing to do', async (t) => {
      if (!sharedFixtureOrSkip(t)) return;
      let r = await runCli(['--json', 'init-es', '--batch', '100', ...mappingArgs(engine)], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).indexed, 999);
      r = await runCli(['--json', 'start-etl', '--batch', '100'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).indexed, 0);
      // Searchable as soon as the run ends: status counts without any refresh of ours.
      const st = JSON.parse((await runCli(['--json', 'status'], env)).stdout);
      assert.equal(st.documents, 999);
      assert.ok(['green', 'yellow'].includes(st.engine.cluster.status), `cluster health ${JSON.stringify(st.engine.cluster)}`);
      assert.ok(st.engine.cluster.nodes >= 1);
      const docs = await allDocs(engine.url, index);
      assert.equal(docs.size, 999);
      const expected = await truth(h.db);
      // Every document, not a sample: 999 is cheap.
      for (const [id, want] of expected) {
        assert.equal(canonical(docs.get(id)!.source), canonical(want), `document ${id}`);
      }
      const noDirector = [...expected.values()].find((d) => d.director.length === 0);
      if (noDirector) assert.deepEqual(docs.get(noDirector.id)!.source.director, []);
    });

    it('a second run indexes 0', async (t) => {
      if (!sharedFixtureOrSkip(t)) return;
      const r = await runCli(['--json', 'start-etl'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).indexed, 0);
    });

    it('renaming a genre reindexes exactly its films, each with its complete genre list', async (t) => {
      if (!sharedFixtureOrSkip(t)) return;
      const before = await allDocs(engine.url, index);
      const [genre] = await h.db('content.genre').where({ genre: 'Comedy' }).select('id');
      const linked = (await h.db('content.film_work_genre').where({ genre_id: genre.id }).distinct('film_work_id'))
        .map((r) => r.film_work_id as string)
        .sort();
      assert.ok(linked.length > 10);
      await h.db('content.genre').where({ id: genre.id }).update({ genre: 'Comedy (renamed)' });
      const r = await runCli(['--json', 'start-etl'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).indexed, linked.length);
      const afterDocs = await allDocs(engine.url, index);
      assert.deepEqual(changedIds(before, afterDocs), linked);
      const expected = await truth(h.db);
      for (const id of linked) {
        const doc = afterDocs.get(id)!.source as { genre: string[] };
        assert.ok(doc.genre.includes('Comedy (renamed)'));
        assert.equal(canonical(afterDocs.get(id)!.source), canonical(expected.get(id)!));
        assert.ok(doc.genre.length === expected.get(id)!.genre.length);
      }
    });

    it('an invalid film (imdb_rating 11) aborts with its id and is not marked indexed', async (t) => {
      if (!sharedFixtureOrSkip(t)) return;
      const [film] = await h.db('content.film_work').orderBy('id').limit(1).select('id');
      await h.db('content.film_work').where({ id: film.id }).update({ imdb_rating: 11 });
      const r = await runCli(['start-etl'], env);
      assert.equal(r.code, ExitCode.invalidData);
      assert.match(r.stderr, new RegExp(film.id));
      assert.match(r.stderr, /imdb_rating/);
      assert.match(r.stderr, /maximum/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace without --debug');
      const pending = await h.db('movies.film_work_change').where({ film_work_id: film.id });
      assert.equal(pending.length, 1);
      // Fixing the row lets the next run through.
      await h.db('content.film_work').where({ id: film.id }).update({ imdb_rating: 7.5 });
      const ok = await runCli(['--json', 'start-etl'], env);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(JSON.parse(ok.stdout).indexed, 1);
    });
  });
}

describe('loaddata on the real database: bad input and ordering', () => {
  let h: Awaited<ReturnType<typeof freshDatabase>>;
  let env: Record<string, string>;
  before(async () => {
    h = await freshDatabase(services.DATABASE_URL);
    env = { DATABASE_URL: h.url };
  });
  after(async () => {
    await h.drop();
  });

  it('a corrupt fixture writes nothing, and says where', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'movies-'));
    const counts = async () => (await h.db.raw('SELECT (SELECT count(*) FROM content.person)::int AS p, (SELECT count(*) FROM content.genre)::int AS g')).rows[0];
    const before = await counts();
    const good = { model: 'movies.person', pk: '11111111-1111-4111-8111-111111111111', fields: { name: 'New Person' } };
    const cases: Array<[string, string, RegExp]> = [
      ['truncated.json', JSON.stringify([good]).slice(0, -5), /invalid JSON/],
      ['unknown-model.json', JSON.stringify([good, { model: 'movies.studio', pk: good.pk, fields: {} }]), /object #2.*unknown model "movies.studio"/],
      ['unknown-field.json', JSON.stringify([good, { model: 'movies.genre', pk: '22222222-2222-4222-8222-222222222222', fields: { genre: 'X', colour: 'red' } }]), /object #2 \(movies.genre pk=2222.*unknown field "colour"/],
      ['wrong-type.json', JSON.stringify([good, { model: 'movies.filmwork', pk: '33333333-3333-4333-8333-333333333333', fields: { title: 'T', imdb_rating: 'high' } }]), /object #2 \(movies.filmwork.*field "imdb_rating"/],
      ['dup-genre.json', JSON.stringify([{ model: 'movies.genre', pk: '98999999-9999-4999-8999-999999999999', fields: { genre: 'Twice' } }, good, { model: 'movies.genre', pk: '99999999-9999-4999-8999-999999999999', fields: { genre: 'Twice' } }]), /object #3 \(movies.genre pk=9999.*"Twice" is already used/],
      ['dangling.json', JSON.stringify([good, { model: 'movies.filmworkperson', pk: '44444444-4444-4444-8444-444444444444', fields: { film_work: '55555555-5555-4555-8555-555555555555', person: good.pk, job: 'actor' } }]), /object #2 \(movies.filmworkperson pk=4444.*field "film_work".*neither the fixture nor the database/],
    ];
    for (const [name, text, pattern] of cases) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const r = await runCli(['loaddata', file], env);
      assert.equal(r.code, ExitCode.invalidData, `${name}: ${r.stderr}`);
      assert.match(r.stderr, pattern, name);
      assert.match(r.stderr, new RegExp(name.replace('.', '\\.')), name);
      assert.deepEqual(await counts(), before, `${name} wrote nothing`);
    }
  });

  it('links may precede their films, and a reloaded pk is overwritten', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'movies-'));
    const film = '66666666-6666-4666-8666-666666666666';
    const genre = '77777777-7777-4777-8777-777777777777';
    const file = join(dir, 'order.json');
    writeFileSync(file, JSON.stringify([
      { model: 'movies.filmworkgenre', pk: '88888888-8888-4888-8888-888888888888', fields: { film_work: film, genre } },
      { model: 'movies.filmwork', pk: film, fields: { title: 'First title', indexed_at: '2020-01-01T00:00:00Z' } },
      { model: 'movies.genre', pk: genre, fields: { genre: 'Ordering' } },
      { model: 'movies.filmwork', pk: film, fields: { title: 'Second title' } },
    ]));
    // A target of its own, so that this test does not depend on an earlier one's init-es.
    const [target] = await h.db('movies.etl_target')
      .insert({ index_name: 'movies', cluster: 'test', alias: 'order_test', physical: 'order_test_1', state: 'live' })
      .returning('id');
    const r = await runCli(['loaddata', file], env);
    assert.equal(r.code, 0, r.stderr);
    const [row] = await h.db('content.film_work').where({ id: film });
    assert.equal(row.title, 'Second title');
    assert.equal((await h.db('movies.film_work_change').where({ film_work_id: film, target_id: target.id })).length, 1, 'pending once for the target');
    await h.db('movies.etl_target').where({ id: target.id }).delete();
  });
});

for (const engine of ENGINES) {
  describe(`movies CLI on a generated catalogue (${engine.name})`, () => {
    let h: Awaited<ReturnType<typeof freshDatabase>>;
    let env: Record<string, string>;
    before(async () => {
      h = await freshDatabase(services.DATABASE_URL);
      env = { DATABASE_URL: h.url, ELASTICSEARCH_URL: engine.url, MOVIES_INDEX: index };
      const r = await runCli(['generate', '--films', '300', '--seed', '7', '--out', join(mkdtempSync(join(tmpdir(), 'movies-')), 'f.json')], env);
      assert.equal(r.code, 0, r.stderr);
      const file = /to (\S+):/.exec(r.stdout)![1]!;
      assert.equal((await runCli(['loaddata', file], env)).code, 0);
    });
    after(async () => {
      await deleteIndex(engine.url, index);
      await h.drop();
    });

    it('init-es with the default (stemmer) mapping fails clearly on a server without analysis-common', { skip: engine.mapping ? false : 'this server has analysis-common' }, async () => {
      const r = await runCli(['init-es'], env);
      assert.equal(r.code, ExitCode.unsupported, r.stderr);
      assert.match(r.stderr, /lacks the analysis module/);
      assert.match(r.stderr, /--mapping nostem/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    });

    it('indexes every film with the mapping the server takes', async () => {
      let r = await runCli(['init-es', ...mappingArgs(engine)], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`${engine.name} \\d+\\.`));
      assert.match(r.stdout, /indexed 300 films/);
      r = await runCli(['--json', 'start-etl', '--batch', '64'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).indexed, 0);
      const docs = await allDocs(engine.url, index);
      const expected = await truth(h.db);
      assert.equal(docs.size, expected.size);
      for (const [id, want] of expected) assert.equal(canonical(docs.get(id)!.source), canonical(want));
    });
  });
}
