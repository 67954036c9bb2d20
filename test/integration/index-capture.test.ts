import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import type { Knex } from 'knex';
import { runCli } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';
import { deleteIndex, refresh } from '../helpers/engine.js';
import { serviceEnv, sharedFixtureOrSkip } from '../helpers/env.js';
import { genreTruth, personTruth } from '../helpers/truth-indexes.js';
import { genresIndex } from '../../src/indexes/genres/index.js';
import { personsIndex } from '../../src/indexes/persons/index.js';
import { bindIndex, type IndexDefinition, type IndexSpec, type PendingRow } from '../../src/indexes/spec.js';
import { names } from '../../src/catalogue/names.js';
import { defaultCatalogue } from '../../src/catalogue/resolve.js';
import { enqueueSql } from '../../src/capture/enqueue.js';

/*
 * The genres and persons indexes at the database level, before any ETL runs them: which writes
 * make which documents pending (migration 004's triggers), what their page SQL builds (against
 * an independent reading of the tables), and whether the engines accept their mappings.
 * Every write runs in a transaction that is rolled back, so each case starts from the loaded
 * catalogue whatever ran before it.
 */

const services = serviceEnv();
type Trx = Knex.Transaction;
type AnySpec = IndexSpec;
// Bound to the default catalogue; each spec's own Row/Doc types do not matter here.
const specs = ([genresIndex, personsIndex] as IndexDefinition[]).map((d) => bindIndex(d, names(defaultCatalogue()))) as unknown as AnySpec[];

/** A fresh database holding a generated catalogue, loaded by the CLI as a user would. */
async function loadedDatabase(o: { films?: number; seed?: number; file?: string }) {
  const h = await freshDatabase(services.DATABASE_URL, 'movies_icap');
  const dir = mkdtempSync(join(tmpdir(), 'movies-icap-'));
  const env = { DATABASE_URL: h.url };
  try {
    // One target per index (init-es would register it), so that the capture triggers queue for someone.
    await h.db('movies.etl_target').insert(
      ['movies', 'genres', 'persons'].map((name) => ({ index_name: name, cluster: 'test', alias: name, physical: `${name}_test`, state: 'live' })),
    );
    let file = o.file;
    if (!file) {
      file = join(dir, 'catalogue.json');
      const g = await runCli(['generate', '--films', String(o.films), '--seed', String(o.seed), '--out', file], env);
      assert.equal(g.code, 0, g.stderr);
    }
    const r = await runCli(['loaddata', file], env);
    assert.equal(r.code, 0, r.stderr);
  } catch (err) {
    await h.drop(); // nobody else holds it yet
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return h;
}

/** Runs fn in a transaction that is always rolled back. */
async function rolledBack<T>(db: Knex, fn: (trx: Trx) => Promise<T>): Promise<T> {
  const trx = await db.transaction();
  try {
    return await fn(trx);
  } finally {
    await trx.rollback();
  }
}

async function clearQueues(trx: Trx | Knex) {
  await trx.raw('DELETE FROM movies.genre_change; DELETE FROM movies.person_change');
}

async function pending(trx: Trx | Knex): Promise<{ genres: string[]; persons: string[] }> {
  const ids = async (table: string, column: string) =>
    (await trx(`movies.${table}`).orderBy(column).select(column)).map((r) => r[column] as string);
  return { genres: await ids('genre_change', 'genre_id'), persons: await ids('person_change', 'person_id') };
}

const sorted = (ids: Iterable<string>) => [...new Set(ids)].sort();
const column = (rows: Array<Record<string, unknown>>, name: string) => rows.map((r) => r[name] as string);

/** Makes every document of the spec pending, as init-es will: through its allIdsSql and queue. */
async function enqueueAll(trx: Trx | Knex, spec: AnySpec) {
  const { table, idColumn } = spec.queue;
  await trx.raw(
    `INSERT INTO movies.${table} (target_id, ${idColumn}) SELECT ?, id FROM (${spec.allIdsSql}) a
     ON CONFLICT (target_id, ${idColumn}) DO UPDATE SET version = excluded.version`,
    [await targetOf(trx, spec)],
  );
}

async function targetOf(trx: Trx | Knex, spec: AnySpec): Promise<number> {
  return Number((await trx('movies.etl_target').where({ index_name: spec.name }).first('id')).id);
}

/** The whole queue read through the spec's page SQL, in keyset pages of `pageSize` versions. */
async function readQueue(trx: Trx | Knex, spec: AnySpec, pageSize = 37): Promise<PendingRow[]> {
  const { table } = spec.queue;
  const rows: PendingRow[] = [];
  let afterVersion = 0;
  for (;;) {
    const end = await trx.raw(
      `SELECT max(version) AS last FROM (SELECT version FROM movies.${table} WHERE version > ? ORDER BY version LIMIT ?) s`,
      [afterVersion, pageSize],
    );
    const last = end.rows[0].last as number | null;
    if (last === null) return rows;
    const page = (await trx.raw(spec.pageSql, { target: await targetOf(trx, spec), after: afterVersion, last })).rows as PendingRow[];
    rows.push(...page);
    afterVersion = last;
  }
}

function validator(spec: AnySpec) {
  return new Ajv({ allErrors: false, strict: true }).compile(JSON.parse(readFileSync(spec.schemaPath, 'utf8')));
}

describe('genres and persons: change capture and page SQL on a generated catalogue', () => {
  let h: Awaited<ReturnType<typeof loadedDatabase>>;
  before(async () => {
    h = await loadedDatabase({ films: 150, seed: 21 });
  });
  after(async () => h?.drop());

  /** Clears the queues, applies the write, and returns what became pending; all rolled back. */
  const capture = (write: (trx: Trx) => Promise<unknown>) =>
    rolledBack(h.db, async (trx) => {
      await clearQueues(trx);
      await write(trx);
      return pending(trx);
    });
  const linkedPerson = async (trx: Trx, offset: number) =>
    (await trx('content.film_work_person').orderBy('id').offset(offset).first('id', 'film_work_id', 'person_id', 'job')) as {
      id: string;
      film_work_id: string;
      person_id: string;
      job: string;
    };
  const someFilm = async (trx: Trx, offset: number) => (await trx('content.film_work').orderBy('id').offset(offset).first('id')).id as string;
  const someGenre = async (trx: Trx, offset: number) => (await trx('content.genre').orderBy('id').offset(offset).first('id')).id as string;

  it('loaddata made every genre and every person pending', async () => {
    const all = async (table: string) => sorted(column(await h.db(`content.${table}`).select('id'), 'id'));
    assert.deepEqual(await pending(h.db), { genres: await all('genre'), persons: await all('person') });
  });

  it('person inserted (without films): that person', async () => {
    const id = '0b000000-0000-4000-8000-000000000001';
    assert.deepEqual(await capture((trx) => trx('content.person').insert({ id, name: 'New Person' })), { genres: [], persons: [id] });
  });

  it('person renamed: that person only', async () => {
    let p = '';
    const got = await capture(async (trx) => {
      p = (await linkedPerson(trx, 5)).person_id;
      await trx('content.person').where({ id: p }).update({ name: 'Renamed Person' });
    });
    assert.deepEqual(got, { genres: [], persons: [p] });
  });

  it('person edit that changes nothing in the document (modified, same name): nothing', async () => {
    const got = await capture(async (trx) => {
      const { person_id } = await linkedPerson(trx, 6);
      await trx('content.person').where({ id: person_id }).update({ modified: trx.fn.now(), name: trx.ref('name') });
    });
    assert.deepEqual(got, { genres: [], persons: [] });
  });

  it('bulk UPDATE of person names, some rows unchanged: exactly the renamed ones', async () => {
    let want: string[] = [];
    const got = await capture(async (trx) => {
      const ids = column(await trx('content.person').orderBy('id').select('id'), 'id');
      want = ids.filter((_, i) => i % 3 === 0);
      // Every row is updated, a third of them get a new name.
      await trx.raw(`UPDATE content.person SET name = CASE WHEN id = ANY(?::uuid[]) THEN name || ' Jr.' ELSE name END, modified = now()`, [want]);
    });
    assert.ok(want.length > 10);
    assert.deepEqual(got, { genres: [], persons: sorted(want) });
  });

  it('bulk upsert (INSERT ... ON CONFLICT DO UPDATE, as loaddata writes): new and renamed persons only', async () => {
    const fresh = '0b000000-0000-4000-8000-000000000002';
    let renamed = '';
    const got = await capture(async (trx) => {
      const rows = await trx('content.person').orderBy('id').limit(20).select('id', 'name');
      renamed = rows[7]!.id;
      const values = rows.map((r) => ({ id: r.id, name: r.id === renamed ? `${r.name} II` : r.name }));
      await trx('content.person')
        .insert([...values, { id: fresh, name: 'Someone New' }])
        .onConflict('id')
        .merge(['name', 'modified']);
    });
    assert.deepEqual(got, { genres: [], persons: sorted([fresh, renamed]) });
  });

  it('person deleted (links cascade): that person', async () => {
    let p = '';
    const got = await capture(async (trx) => {
      p = (await linkedPerson(trx, 7)).person_id;
      await trx('content.person').where({ id: p }).delete();
    });
    assert.deepEqual(got, { genres: [], persons: [p] });
  });

  it('person without films deleted (no link to cascade to): that person', async () => {
    const id = '0b000000-0000-4000-8000-000000000004';
    const got = await capture(async (trx) => {
      await trx('content.person').insert({ id, name: 'Short-lived' });
      await clearQueues(trx);
      await trx('content.person').where({ id }).delete();
    });
    assert.deepEqual(got, { genres: [], persons: [id] });
  });

  it('link added: its person', async () => {
    let p = '';
    const got = await capture(async (trx) => {
      p = (await linkedPerson(trx, 8)).person_id;
      const film = await trx('content.film_work')
        .whereNotIn('id', trx('content.film_work_person').where({ person_id: p }).select('film_work_id'))
        .first('id');
      await trx('content.film_work_person').insert({ id: '0c000000-0000-4000-8000-000000000001', film_work_id: film.id, person_id: p, job: 'writer' });
    });
    assert.deepEqual(got, { genres: [], persons: [p] });
  });

  it('link removed: its person', async () => {
    let p = '';
    const got = await capture(async (trx) => {
      const l = await linkedPerson(trx, 9);
      p = l.person_id;
      await trx('content.film_work_person').where({ id: l.id }).delete();
    });
    assert.deepEqual(got, { genres: [], persons: [p] });
  });

  it('link moved to another person: both persons', async () => {
    let want: string[] = [];
    const got = await capture(async (trx) => {
      const l = await linkedPerson(trx, 10);
      const other = (await trx('content.person').whereNot({ id: l.person_id }).orderBy('id').first('id')).id as string;
      want = sorted([l.person_id, other]);
      await trx('content.film_work_person').where({ id: l.id }).update({ person_id: other });
    });
    assert.deepEqual(got, { genres: [], persons: want });
  });

  it('link moved to another film: its person', async () => {
    let p = '';
    const got = await capture(async (trx) => {
      const l = await linkedPerson(trx, 11);
      p = l.person_id;
      const other = (await trx('content.film_work').whereNot({ id: l.film_work_id }).orderBy('id').first('id')).id as string;
      await trx('content.film_work_person').where({ id: l.id }).update({ film_work_id: other });
    });
    assert.deepEqual(got, { genres: [], persons: [p] });
  });

  it('link job changed: its person', async () => {
    let p = '';
    const got = await capture(async (trx) => {
      const l = await linkedPerson(trx, 12);
      p = l.person_id;
      await trx('content.film_work_person').where({ id: l.id }).update({ job: l.job === 'actor' ? 'director' : 'actor' });
    });
    assert.deepEqual(got, { genres: [], persons: [p] });
  });

  it('link edit of created/modified only, on every link: nothing', async () => {
    const got = await capture((trx) => trx('content.film_work_person').update({ modified: trx.fn.now(), created: trx.fn.now() }));
    assert.deepEqual(got, { genres: [], persons: [] });
  });

  it('film deleted (links cascade): the persons of the film', async () => {
    let want: string[] = [];
    const got = await capture(async (trx) => {
      const id = await someFilm(trx, 13);
      want = sorted(column(await trx('content.film_work_person').where({ film_work_id: id }).select('person_id'), 'person_id'));
      await trx('content.film_work').where({ id }).delete();
    });
    assert.ok(want.length > 0);
    assert.deepEqual(got, { genres: [], persons: want });
  });

  it('film fields edited, genre link added and removed: nothing in these queues', async () => {
    const got = await capture(async (trx) => {
      const id = await someFilm(trx, 14);
      await trx('content.film_work').where({ id }).update({ title: 'A brand new title', imdb_rating: 1.5 });
      const g = await trx('content.genre')
        .whereNotIn('id', trx('content.film_work_genre').where({ film_work_id: id }).select('genre_id'))
        .first('id');
      await trx('content.film_work_genre').insert({ id: '0d000000-0000-4000-8000-000000000001', film_work_id: id, genre_id: g.id });
      await trx('content.film_work_genre').where({ film_work_id: id }).delete();
    });
    assert.deepEqual(got, { genres: [], persons: [] });
  });

  it('genre inserted: that genre', async () => {
    const id = '0e000000-0000-4000-8000-000000000001';
    assert.deepEqual(await capture((trx) => trx('content.genre').insert({ id, genre: 'Brand-new genre' })), { genres: [id], persons: [] });
  });

  it('genre renamed: that genre only', async () => {
    let g = '';
    const got = await capture(async (trx) => {
      g = await someGenre(trx, 1);
      await trx('content.genre').where({ id: g }).update({ genre: 'Renamed genre' });
    });
    assert.deepEqual(got, { genres: [g], persons: [] });
  });

  it('genre description edited: that genre only', async () => {
    let g = '';
    const got = await capture(async (trx) => {
      g = await someGenre(trx, 2);
      await trx('content.genre').where({ id: g }).update({ description: 'A new description' });
    });
    assert.deepEqual(got, { genres: [g], persons: [] });
  });

  it('genre edit of modified only, on every genre: nothing', async () => {
    const got = await capture((trx) => trx('content.genre').update({ modified: trx.fn.now(), genre: trx.ref('genre') }));
    assert.deepEqual(got, { genres: [], persons: [] });
  });

  it('genre deleted (links cascade): that genre only', async () => {
    let g = '';
    const got = await capture(async (trx) => {
      g = await someGenre(trx, 3);
      await trx('content.genre').where({ id: g }).delete();
    });
    assert.deepEqual(got, { genres: [g], persons: [] });
  });

  it('TRUNCATE film_work_person: every person with a link', async () => {
    let want: string[] = [];
    const got = await capture(async (trx) => {
      want = sorted(column(await trx('content.film_work_person').select('person_id'), 'person_id'));
      await trx.raw('TRUNCATE content.film_work_person');
    });
    assert.ok(want.length > 0);
    assert.deepEqual(got, { genres: [], persons: want });
  });

  it('TRUNCATE person and genre (cascading to links): every person and every genre', async () => {
    let want = { genres: [] as string[], persons: [] as string[] };
    const got = await capture(async (trx) => {
      want = {
        genres: sorted(column(await trx('content.genre').select('id'), 'id')),
        persons: sorted(column(await trx('content.person').select('id'), 'id')),
      };
      await trx.raw('TRUNCATE content.person, content.genre CASCADE');
    });
    assert.deepEqual(got, want);
  });

  it('page SQL builds every document equal to an independent reading, valid against its schema', async () => {
    await rolledBack(h.db, async (trx) => {
      // Cases the generator may not make: no films, several roles in one film, a repeated
      // (film, person, job) triple under another pk, a person queued whose row is gone.
      await trx('content.person').insert({ id: '0b000000-0000-4000-8000-000000000003', name: 'Nobody Filmed' });
      const l = await linkedPerson(trx, 3);
      await trx('content.film_work_person').insert([
        { id: '0c000000-0000-4000-8000-000000000002', film_work_id: l.film_work_id, person_id: l.person_id, job: l.job },
        { id: '0c000000-0000-4000-8000-000000000003', film_work_id: l.film_work_id, person_id: l.person_id, job: l.job === 'writer' ? 'director' : 'writer' },
      ]);
      const gone = '0f000000-0000-4000-8000-000000000001';
      await trx.raw(enqueueSql('persons', 'SELECT ?::uuid'), [gone]);
      await trx.raw(enqueueSql('genres', 'SELECT ?::uuid'), [gone]);

      const truths = { genres: await genreTruth(trx), persons: await personTruth(trx) };
      assert.ok([...truths.persons.values()].some((d) => d.films.some((f) => f.roles.length > 1)), 'a person with two roles in one film');
      for (const spec of specs) {
        await enqueueAll(trx, spec);
        const want = truths[spec.name as 'genres' | 'persons'];
        const validate = validator(spec);
        const rows = await readQueue(trx, spec);
        assert.equal(rows.length, want.size + 1, `${spec.name}: one row per queued id`);
        assert.deepEqual(
          rows.filter((r) => r.doc === null).map((r) => r.id),
          [gone],
          `${spec.name}: only the gone id is a delete`,
        );
        for (const row of rows.filter((r) => r.doc !== null)) {
          const doc = JSON.parse(row.doc!) as unknown;
          assert.deepEqual(doc, want.get(row.id), `${spec.name} document ${row.id}`);
          assert.ok(validate(doc), `${spec.name} document ${row.id}: ${JSON.stringify(validate.errors)}`);
        }
      }
    });
  });

  it('the schemas are not vacuous: a wrong role, an empty name, an extra field are refused', () => {
    const persons = validator(personsIndex as unknown as AnySpec);
    const genres = validator(genresIndex as unknown as AnySpec);
    const id = '0b000000-0000-4000-8000-000000000009';
    assert.ok(persons({ id, full_name: 'A', films: [{ id, roles: ['actor', 'writer'] }] }));
    assert.ok(!persons({ id, full_name: 'A', films: [{ id, roles: ['producer'] }] }));
    assert.ok(!persons({ id, full_name: '', films: [] }));
    assert.ok(!genres({ id, name: 'Drama', description: '', extra: 1 }));
  });

  /** Creates the index from the mapping file, bulk-indexes every document, checks the count. */
  async function indexAll(engineUrl: string, spec: AnySpec, mapping: string, docs: unknown[]): Promise<string> {
    const index = `movies_icap_${spec.name}_${process.pid}`;
    await deleteIndex(engineUrl, index);
    const put = await fetch(`${engineUrl}/${index}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: readFileSync(spec.mappings[mapping]!, 'utf8'),
    });
    assert.equal(put.status, 200, `${spec.name} ${mapping} mapping: ${await put.text()}`);
    const body = docs.map((d) => `${JSON.stringify({ index: { _id: (d as { id: string }).id } })}\n${JSON.stringify(d)}\n`).join('');
    const bulk = await fetch(`${engineUrl}/${index}/_bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    const answer = (await bulk.json()) as { errors: boolean; items: unknown[] };
    assert.equal(answer.errors, false, `${spec.name}: ${JSON.stringify(answer.items.find((i) => JSON.stringify(i).includes('"error"')))}`);
    await refresh(engineUrl, index);
    const count = (await (await fetch(`${engineUrl}/${index}/_count`)).json()) as { count: number };
    assert.equal(count.count, docs.length, `${spec.name}: every document indexed`);
    return index;
  }

  async function search(engineUrl: string, index: string, query: unknown): Promise<number> {
    const r = await fetch(`${engineUrl}/${index}/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, size: 0, track_total_hits: true }),
    });
    const body = (await r.json()) as { hits: { total: { value: number } } };
    assert.equal(r.status, 200, JSON.stringify(body));
    return body.hits.total.value;
  }

  for (const [engine, mapping] of [
    ['OPENSEARCH_URL', 'default'],
    ['ELASTICSEARCH_URL', 'nostem'],
  ] as const) {
    it(`the ${mapping} mappings are accepted by ${engine === 'OPENSEARCH_URL' ? 'OpenSearch' : 'Elasticsearch'} with every document`, async () => {
      const url = services[engine];
      const created: string[] = [];
      try {
        const docs = await rolledBack(h.db, async (trx) => {
          const out: Record<string, unknown[]> = {};
          for (const spec of specs) {
            await enqueueAll(trx, spec);
            out[spec.name] = (await readQueue(trx, spec, 500)).map((r) => JSON.parse(r.doc!) as unknown);
          }
          return out;
        });
        for (const spec of specs) created.push(await indexAll(url, spec, mapping, docs[spec.name]!));
        // films is nested and full_name analysed: count directors, and find one person by a word of the name.
        const persons = [...(await personTruth(h.db)).values()];
        const directors = persons.filter((p) => p.films.some((f) => f.roles.includes('director'))).length;
        const personsIndexName = created[1]!;
        assert.equal(await search(url, personsIndexName, { nested: { path: 'films', query: { term: { 'films.roles': 'director' } } } }), directors);
        const word = persons[0]!.full_name.split(' ').at(-1)!;
        const named = persons.filter((p) => p.full_name.toLowerCase().split(/\s+/).includes(word.toLowerCase())).length;
        assert.ok((await search(url, personsIndexName, { match: { full_name: word } })) >= named);
      } finally {
        for (const index of created) await deleteIndex(url, index);
      }
    });
  }
});

describe('genres and persons on the original fixture', () => {
  it('26 genre and 4,164 person documents, each equal to the independent reading', async (t) => {
    const file = sharedFixtureOrSkip(t);
    if (!file) return;
    const h = await loadedDatabase({ file });
    try {
      const truths = { genres: await genreTruth(h.db), persons: await personTruth(h.db) };
      assert.equal(truths.genres.size, 26);
      assert.equal(truths.persons.size, 4164);
      // loaddata itself queued every document: read the queues as they are.
      for (const spec of specs) {
        const want = truths[spec.name as 'genres' | 'persons'];
        const validate = validator(spec);
        const rows = await readQueue(h.db, spec, 500);
        assert.equal(rows.length, want.size);
        for (const row of rows) {
          const doc = JSON.parse(row.doc!) as unknown;
          assert.deepEqual(doc, want.get(row.id), `${spec.name} document ${row.id}`);
          assert.ok(validate(doc), `${spec.name} document ${row.id}: ${JSON.stringify(validate.errors)}`);
        }
      }
    } finally {
      await h.drop();
    }
  });
});
