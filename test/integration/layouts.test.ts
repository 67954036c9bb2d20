import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { emptyDatabase } from '../helpers/db.js';
import { CAPTURES } from '../helpers/captures.js';
import { allDocs, deleteIndex } from '../helpers/engine.js';
import { ENGINES } from '../helpers/engines.js';
import { serviceEnv } from '../helpers/env.js';
import { createPracticumTables, loadConverted, loadPracticum, practicumMissing, readPracticum } from '../helpers/practicum.js';
import { ExitCode } from '../../src/core/errors.js';
import { moviesLayout } from '../../src/catalogue/layouts/movies.js';

const services = serviceEnv();
// One engine: documents are built by PostgreSQL, so the layouts' equality does not depend on it.
const engine = ENGINES[0]!;
const INDEXES = ['movies', 'genres', 'persons'];
type Db = Awaited<ReturnType<typeof emptyDatabase>>;

async function cli(args: string[], env: Record<string, string>, code: number = ExitCode.ok) {
  const r = await runCli(args, { MOVIES_ONLY: INDEXES.join(','), ELASTICSEARCH_URL: engine.url, ...env });
  assert.equal(r.code, code, `movies ${args.join(' ')}: ${r.stderr}`);
  return r;
}

/** Every document of the three indexes under `prefix`, as the JSON text of its _source, by index and id. */
async function documents(prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const index of INDEXES) {
    for (const [id, d] of await allDocs(engine.url, `${prefix}${index}`)) out.set(`${index}/${id}`, JSON.stringify({ ...d.source, hash: d.hash }));
  }
  return out;
}

function assertSame(a: Map<string, string>, b: Map<string, string>, what: string) {
  assert.equal(a.size, b.size, `${what}: as many documents`);
  const differ = [...a].filter(([k, v]) => b.get(k) !== v).map(([k]) => k);
  assert.deepEqual(differ.slice(0, 5), [], `${what}: ${differ.length} documents differ, e.g. ${differ[0]}: ${a.get(differ[0]!)} vs ${b.get(differ[0]!)}`);
}

for (const capture of CAPTURES) {
describe(`the same catalogue in the course's layout and in the default layout (${capture.mode} capture)`, { skip: practicumMissing() }, () => {
  const data = practicumMissing() ? undefined : readPracticum();
  let course: Db;
  let converted: Db;
  const stamp = `${process.pid}_${Date.now().toString(36)}`;
  const envOf = (db: Db, name: string, extra: Record<string, string> = {}) => ({
    DATABASE_URL: db.url,
    MOVIES_INDEX_PREFIX: `layouts_${name}_${capture.mode.slice(0, 1)}${stamp}_`,
    MOVIES_CAPTURE: capture.mode,
    ...extra,
  });
  const courseEnv = () => envOf(course, 'course', { MOVIES_CATALOGUE: 'practicum' });
  const convertedEnv = () => envOf(converted, 'default');

  before(async () => {
    course = await emptyDatabase(capture.databaseUrl, 'movies_course');
    converted = await emptyDatabase(capture.databaseUrl, 'movies_conv');
    await createPracticumTables(course.db, 'content');
    await loadPracticum(course.db, 'content', data!);
    await cli(['migrate'], convertedEnv());
    await loadConverted(converted.db, data!);
  });
  after(async () => {
    for (const env of [courseEnv(), convertedEnv()]) for (const i of INDEXES) await deleteIndex(engine.url, `${env.MOVIES_INDEX_PREFIX}${i}`);
    await course?.drop();
    await converted?.drop();
  });

  it('migrate adopts the course\'s tables, and both index to the same documents byte for byte', async () => {
    const adopted = await cli(['--json', 'migrate'], courseEnv());
    assert.equal(JSON.parse(adopted.stdout).created, false);
    for (const env of [courseEnv(), convertedEnv()]) await cli(['init-es', ...(engine.mapping ? ['--mapping', engine.mapping] : [])], env);
    const a = await documents(courseEnv().MOVIES_INDEX_PREFIX);
    assert.equal(a.size, data!.film_work.length + data!.genre.length + data!.person.length);
    assertSame(a, await documents(convertedEnv().MOVIES_INDEX_PREFIX), 'after init-es');
  });

  it('the same edits in each layout are captured and give the same documents again', async () => {
    const film = data!.film_work[0]!.id as string;
    const gone = data!.film_work[1]!.id as string;
    const genre = data!.genre[0]!.id as string;
    const person = data!.person_film_work[0]!.person_id as string;
    const newFilm = randomUUID();
    const link = randomUUID();
    await course.db.raw(`
      UPDATE content.genre SET name = name || ' (renamed)' WHERE id = '${genre}';
      UPDATE content.film_work SET title = 'Retitled', description = NULL WHERE id = '${film}';
      UPDATE content.person SET full_name = 'Someone Else' WHERE id = '${person}';
      INSERT INTO content.film_work (id, title, type, rating) VALUES ('${newFilm}', 'A new film', 'movie', 7.5);
      INSERT INTO content.genre_film_work (id, film_work_id, genre_id) VALUES ('${link}', '${newFilm}', '${genre}');
      INSERT INTO content.person_film_work (id, film_work_id, person_id, role) VALUES ('${link}', '${newFilm}', '${person}', 'director');
      DELETE FROM content.person_film_work WHERE film_work_id = '${gone}';
      DELETE FROM content.genre_film_work WHERE film_work_id = '${gone}';
      DELETE FROM content.film_work WHERE id = '${gone}';`);
    await converted.db.raw(`
      UPDATE content.genre SET genre = genre || ' (renamed)' WHERE id = '${genre}';
      UPDATE content.film_work SET title = 'Retitled', description = '' WHERE id = '${film}';
      UPDATE content.person SET name = 'Someone Else' WHERE id = '${person}';
      INSERT INTO content.film_work (id, title, film_type, imdb_rating) VALUES ('${newFilm}', 'A new film', 'movie', 7.5);
      INSERT INTO content.film_work_genre (id, film_work_id, genre_id) VALUES ('${link}', '${newFilm}', '${genre}');
      INSERT INTO content.film_work_person (id, film_work_id, person_id, job) VALUES ('${link}', '${newFilm}', '${person}', 'director');
      DELETE FROM content.film_work WHERE id = '${gone}';`);
    for (const env of [courseEnv(), convertedEnv()]) await cli(['start-etl'], env);
    const a = await documents(courseEnv().MOVIES_INDEX_PREFIX);
    assert.ok(a.get(`movies/${newFilm}`)?.includes('A new film'), 'the new film is indexed');
    assert.equal(a.get(`movies/${gone}`), undefined, 'the deleted film is gone');
    assertSame(a, await documents(convertedEnv().MOVIES_INDEX_PREFIX), 'after the edits');
    for (const env of [courseEnv(), convertedEnv()]) await cli(['verify', '--deep'], env);
  });

  it('a command with another catalogue than the one migrate installed capture for exits 2', async () => {
    const r = await cli(['status'], { ...courseEnv(), MOVIES_CATALOGUE: 'movies' }, ExitCode.usage);
    assert.match(r.stderr, /installed for the catalogue in schema content with layout practicum/);
  });
});

describe(`a layout file with other names (${capture.mode} capture)`, () => {
  let h: Db;
  const dir = mkdtempSync(join(tmpdir(), 'movies-layout-'));
  const prefix = `layouts_file_${capture.mode.slice(0, 1)}${process.pid}_`;
  const layout = {
    film_work: { table: 'films', columns: { ...nulls('film_work'), id: 'id', title: 'name', description: 'plot', imdb_rating: 'score' } },
    genre: { table: 'kinds', columns: { ...nulls('genre'), id: 'id', genre: 'label' } },
    person: { table: 'people', columns: { ...nulls('person'), id: 'id', name: 'display_name' } },
    film_work_genre: { table: 'film_kinds', columns: { ...nulls('film_work_genre'), id: 'id', film_work_id: 'film', genre_id: 'kind' } },
    film_work_person: { table: 'film_people', columns: { ...nulls('film_work_person'), id: 'id', film_work_id: 'film', person_id: 'person', job: 'part' } },
  };
  function nulls(e: keyof typeof moviesLayout) {
    return Object.fromEntries(Object.keys(moviesLayout[e].columns).map((k) => [k, null]));
  }
  const file = (name: string, l: unknown) => {
    const f = join(dir, name);
    writeFileSync(f, JSON.stringify(l));
    return f;
  };
  const env = (catalogue: string) => ({ DATABASE_URL: h.url, MOVIES_SCHEMA: 'catalog', MOVIES_CATALOGUE: catalogue, MOVIES_INDEX_PREFIX: prefix, MOVIES_CAPTURE: capture.mode });

  before(async () => {
    h = await emptyDatabase(capture.databaseUrl, 'movies_file');
    await h.db.raw(`
      CREATE SCHEMA catalog;
      CREATE TYPE catalog.part AS ENUM ('writer', 'director', 'actor');
      CREATE TABLE catalog.films (id uuid PRIMARY KEY, name varchar(200) NOT NULL, plot text, score numeric(3,1), budget bigint);
      CREATE TABLE catalog.kinds (id uuid PRIMARY KEY, label text NOT NULL);
      CREATE TABLE catalog.people (id uuid PRIMARY KEY, display_name text NOT NULL);
      CREATE TABLE catalog.film_kinds (id uuid PRIMARY KEY, film uuid NOT NULL REFERENCES catalog.films, kind uuid NOT NULL REFERENCES catalog.kinds);
      CREATE TABLE catalog.film_people (id uuid PRIMARY KEY, film uuid NOT NULL REFERENCES catalog.films, person uuid NOT NULL REFERENCES catalog.people, part catalog.part NOT NULL);
      INSERT INTO catalog.films VALUES ('00000000-0000-4000-8000-000000000001', 'Solaris', NULL, 8.1, 1000000);
      INSERT INTO catalog.kinds VALUES ('00000000-0000-4000-8000-000000000002', 'Drama');
      INSERT INTO catalog.people VALUES ('00000000-0000-4000-8000-000000000003', 'Andrei Tarkovsky');
      INSERT INTO catalog.film_kinds VALUES ('00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002');
      INSERT INTO catalog.film_people VALUES ('00000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000003', 'director');`);
  });
  after(async () => {
    for (const i of INDEXES) await deleteIndex(engine.url, `${prefix}${i}`);
    await h?.drop();
  });

  it('refuses a file whose columns do not match, naming schema.table.column, found and expected, and changes nothing', async () => {
    const missing = structuredClone(layout);
    missing.film_work.columns.title = 'title';
    const wrongType = structuredClone(layout);
    wrongType.film_work.columns.title = 'budget';
    for (const [name, l, message] of [
      ['missing.json', missing, /catalog\.films\.title: no such column \(expected text or varchar/],
      ['type.json', wrongType, /catalog\.films\.budget: found bigint, expected text or varchar/],
    ] as const) {
      const r = await cli(['migrate'], env(file(name, l)), ExitCode.usage);
      assert.match(r.stderr, message);
    }
    const r = await cli(['migrate'], env(file('unknown.json', { ...layout, extra: {} })), ExitCode.usage);
    assert.match(r.stderr, /unknown key "extra"/);
    const nothing = await h.db.raw(`SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'movies')::int AS schemas,
      (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal)::int AS triggers`);
    assert.deepEqual(nothing.rows[0], { schemas: 0, triggers: 0 });
  });

  it('indexes, captures an edit (ENUM role, numeric rating, NULL text) and verifies clean', async () => {
    const e = env(file('layout.json', layout));
    await cli(['migrate'], e);
    await cli(['init-es', ...(engine.mapping ? ['--mapping', engine.mapping] : [])], e);
    const films = await allDocs(engine.url, `${prefix}movies`);
    const doc = films.get('00000000-0000-4000-8000-000000000001')!.source;
    assert.deepEqual([doc.title, doc.description, doc.imdb_rating, doc.genre, doc.director], ['Solaris', '', 8.1, ['Drama'], ['Andrei Tarkovsky']]);
    await h.db.raw(`UPDATE catalog.people SET display_name = 'A. Tarkovsky'; UPDATE catalog.film_people SET part = 'writer'`);
    await cli(['start-etl'], e);
    const after = (await allDocs(engine.url, `${prefix}movies`)).get('00000000-0000-4000-8000-000000000001')!.source;
    assert.deepEqual([after.director, after.writers_names], [[], ['A. Tarkovsky']]);
    const person = (await allDocs(engine.url, `${prefix}persons`)).get('00000000-0000-4000-8000-000000000003')!.source;
    assert.deepEqual(person.films, [{ id: '00000000-0000-4000-8000-000000000001', roles: ['writer'] }]);
    await cli(['verify', '--deep'], e);
    await cli(['detach', '--yes'], e);
    const left = await h.db.raw(`SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'movies')::int AS schemas,
      (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal)::int AS triggers`);
    assert.deepEqual(left.rows[0], { schemas: 0, triggers: 0 });
  });
});
}
