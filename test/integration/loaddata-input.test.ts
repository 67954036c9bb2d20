import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';
import { serviceEnv } from '../helpers/env.js';
import { ExitCode } from '../../src/core/errors.js';
import { Random } from '../../src/django/random.js';
import { fieldValidators } from '../../src/django/validate.js';

/*
 * Fixture values that the document schema or PostgreSQL cannot take must stop loaddata with
 * exit 4 and a message that says where (file, object, model, pk, field), before anything is
 * written; and whatever the message echoes from the fixture stays short.
 */

const services = serviceEnv();

const STAMP = '2021-06-16T20:14:09.221Z';
const GENRE = '10000000-0000-4000-8000-000000000001';
const PERSON = '10000000-0000-4000-8000-000000000002';
const FILM = '10000000-0000-4000-8000-000000000003';

/** One valid object of each model; each case appends its bad object(s) after these five. */
const valid: Record<string, Record<string, unknown>> = {
  'movies.genre': { genre: 'Input genre', description: 'about it', created: STAMP, modified: STAMP },
  'movies.person': { name: 'Input Person', created: STAMP, modified: STAMP },
  'movies.filmwork': {
    title: 'Input film',
    description: 'plot',
    creation_date: '2001-02-03',
    film_rating: 'PG',
    imdb_rating: 7.5,
    film_type: 'movie',
    created: STAMP,
    modified: STAMP,
  },
  'movies.filmworkgenre': { film_work: FILM, genre: GENRE, created: STAMP, modified: STAMP },
  'movies.filmworkperson': { film_work: FILM, person: PERSON, job: 'actor', created: STAMP, modified: STAMP },
};
const good = [
  { model: 'movies.genre', pk: GENRE, fields: valid['movies.genre'] },
  { model: 'movies.person', pk: PERSON, fields: valid['movies.person'] },
  { model: 'movies.filmwork', pk: FILM, fields: valid['movies.filmwork'] },
  { model: 'movies.filmworkgenre', pk: '10000000-0000-4000-8000-000000000004', fields: valid['movies.filmworkgenre'] },
  { model: 'movies.filmworkperson', pk: '10000000-0000-4000-8000-000000000005', fields: valid['movies.filmworkperson'] },
];

// Every bad object has a pk of its own, so that one wrongly loaded would add a row, not overwrite one.
let serial = 0;
const freshPk = () => `20000000-0000-4000-8000-${(++serial).toString(16).padStart(12, '0')}`;
/** A copy of model's valid object with a fresh pk and `change` applied to its fields. */
function bad(model: string, change: Record<string, unknown>) {
  const pk = freshPk();
  // Genre names are unique: a copy of the valid genre's name would be refused for that instead.
  const unique = model === 'movies.genre' ? { genre: `Genre ${pk}` } : {};
  return { model, pk, fields: { ...valid[model], ...unique, ...change } };
}

interface Case {
  name: string;
  /** Objects after the five good ones, or raw JSON text for them (for what JSON.stringify cannot write). */
  extra: unknown[] | string;
  pos: number;
  /** Pattern for "(model pk=...)" after "object #pos ". */
  where: RegExp;
  field: string;
  /** What the message must say about the value, after naming the field. */
  rule?: RegExp;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const at = (model: string, pk: string) => new RegExp(`^\\(${esc(model)} pk=${esc(pk)}\\)`);

/** The case of one bad object of `model`: `change` applied to a valid one; the message must name `field`. */
function one(name: string, model: string, change: Record<string, unknown>, field: string, rule?: RegExp): Case {
  const o = bad(model, change);
  return { name, extra: [o], pos: 6, where: at(model, o.pk), field, rule };
}

/** Like one(), with `field` written as a bare literal, as Python's json module writes float('nan') and float('inf'). */
function python(name: string, model: string, field: string, literal: string, rule: RegExp): Case {
  const o = bad(model, { [field]: '@@' });
  return { name, extra: JSON.stringify(o).replace('"@@"', literal), pos: 6, where: at(model, o.pk), field, rule };
}

const cases: Case[] = [
  // Item 8: what the document schema forbids.
  one('rating-11', 'movies.filmwork', { imdb_rating: 11 }, 'imdb_rating', /<= 10/),
  one('rating-minus-3', 'movies.filmwork', { imdb_rating: -3 }, 'imdb_rating', />= 0/),
  python('rating-nan', 'movies.filmwork', 'imdb_rating', 'NaN', /NaN/),
  python('rating-infinity', 'movies.filmwork', 'imdb_rating', 'Infinity', /Infinity/),
  python('rating-minus-infinity', 'movies.filmwork', 'imdb_rating', '-Infinity', /-Infinity/),
  // JSON.parse reads a number too large for a double as Infinity.
  python('rating-1e999', 'movies.filmwork', 'imdb_rating', '1e999', /Infinity/),
];

// Item 14: text PostgreSQL cannot store, in every free-text field.
const textFields: Array<[string, string]> = [
  ['movies.genre', 'genre'],
  ['movies.genre', 'description'],
  ['movies.person', 'name'],
  ['movies.filmwork', 'title'],
  ['movies.filmwork', 'description'],
  ['movies.filmwork', 'film_rating'],
];
for (const [model, field] of textFields) {
  cases.push(one(`nul-${model}-${field}`, model, { [field]: 'before\u0000after' }, field, /NUL/));
  for (const lone of ['\ud800', '\udfff']) {
    const name = `surrogate-${lone.charCodeAt(0).toString(16)}-${model}-${field}`;
    cases.push(one(name, model, { [field]: `x${lone}y` }, field, /surrogate/));
  }
}

// Item 14: dates and timestamps PostgreSQL refuses, in every date and timestamp field.
for (const model of Object.keys(valid)) {
  for (const field of ['created', 'modified']) {
    cases.push(one(`year0-${model}-${field}`, model, { [field]: '0000-06-01T12:00:00Z' }, field, /year 0/));
  }
}
cases.push(
  one('year0-creation_date', 'movies.filmwork', { creation_date: '0000-02-29' }, 'creation_date', /year 0/),
  one('tz-16h', 'movies.person', { created: '2020-01-01T00:00:00+16:00' }, 'created', /\+16:00/),
  one('nbsp-separator', 'movies.genre', { modified: '2020-01-01\u00a000:00:00Z' }, 'modified'),
  one('long-fraction', 'movies.filmwork', { created: `2020-01-01T00:00:00.${'1'.repeat(150)}Z` }, 'created'),
);

// Item 16: long values are clipped wherever they are echoed.
const huge = (c: string) => c.repeat(1_000_000);
const clipped = /1,000,000 characters/;
const hugeKey = bad('movies.person', {});
const hugeField = bad('movies.person', { [huge('f')]: 1 });
const firstLong = bad('movies.genre', { genre: 'g'.repeat(255) });
const secondLong = bad('movies.genre', { genre: 'g'.repeat(255) });
cases.push(
  {
    name: 'huge-pk',
    extra: [{ model: 'movies.person', pk: huge('p'), fields: { name: 'x' } }],
    pos: 6,
    where: /^\(movies\.person pk="p{10,100}…" \(1,000,000 characters\)\)/,
    field: 'pk',
  },
  {
    name: 'huge-model',
    extra: [{ model: huge('m'), pk: freshPk(), fields: {} }],
    pos: 6,
    where: /^\("m{10,100}…" \(1,000,000 characters\) pk=/,
    field: 'model',
    rule: /unknown model "m{10,100}…" \(1,000,000 characters\)/,
  },
  {
    name: 'huge-key',
    extra: [{ ...hugeKey, [huge('k')]: 1 }],
    pos: 6,
    where: at('movies.person', hugeKey.pk),
    field: 'k'.repeat(10),
    rule: clipped,
  },
  { name: 'huge-field', extra: [hugeField], pos: 6, where: at('movies.person', hugeField.pk), field: 'f'.repeat(10), rule: clipped },
  {
    name: 'long-duplicate-genre',
    extra: [firstLong, secondLong],
    pos: 7,
    where: at('movies.genre', secondLong.pk),
    field: 'genre',
    rule: /"g{10,100}…" \(255 characters\) is already used/,
  },
);

describe('loaddata refuses values the schema or PostgreSQL cannot take', () => {
  let h: Awaited<ReturnType<typeof freshDatabase>>;
  let env: Record<string, string>;
  let dir: string;
  before(async () => {
    h = await freshDatabase(services.DATABASE_URL);
    env = { DATABASE_URL: h.url };
    dir = mkdtempSync(join(tmpdir(), 'movies-input-'));
  });
  after(async () => {
    await h.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Rows in every table of schema content, by table. */
  const counts = async (): Promise<Record<string, number>> => {
    const tables = await h.db('information_schema.tables')
      .where({ table_schema: 'content', table_type: 'BASE TABLE' })
      .pluck('table_name');
    const out: Record<string, number> = {};
    for (const t of tables as string[]) {
      out[t] = (await h.db.raw(`SELECT count(*)::int AS n FROM content."${t}"`)).rows[0].n;
    }
    return out;
  };

  it('the five good objects alone load (so the cases below fail on their bad object only)', async () => {
    const file = join(dir, 'good.json');
    writeFileSync(file, JSON.stringify(good));
    const r = await runCli(['loaddata', file], env);
    assert.equal(r.code, 0, r.stderr);
  });

  for (const c of cases) {
    it(`${c.name}: exit 4, says where, writes nothing`, async () => {
      const file = join(dir, `${c.name}.json`);
      const extra = typeof c.extra === 'string' ? c.extra : c.extra.map((o) => JSON.stringify(o)).join(',');
      writeFileSync(file, `[${good.map((o) => JSON.stringify(o)).join(',\n')},\n${extra}]`);
      const before = await counts();
      const r = await runCli(['loaddata', file], env);
      const shown = r.stderr.length > 2000 ? `${r.stderr.slice(0, 2000)}… (${r.stderr.length} characters)` : r.stderr;
      assert.equal(r.code, ExitCode.invalidData, `exit code; stderr: ${shown}`);
      // Off a terminal each line may start with a timestamp.
      const prefix = `error: ${c.name}.json: object #${c.pos} `;
      const start = r.stderr.indexOf(prefix);
      assert.ok(start >= 0, `"${prefix}" in: ${shown}`);
      assert.match(r.stderr.slice(start + prefix.length), c.where, 'model and pk');
      const field = r.stderr.indexOf(`"${c.field}`);
      assert.ok(field > 0, `field "${c.field}" in: ${shown}`);
      if (c.rule) assert.match(r.stderr.slice(field), c.rule, 'what is wrong, after the field');
      assert.ok(r.stderr.length < 1000, `a short message, not ${r.stderr.length} characters`);
      assert.doesNotMatch(r.stderr, /\n\s+at |INSERT|SELECT|unnest|movies_stage|invalid JSON/, shown);
      assert.deepEqual(await counts(), before, 'nothing written');
    });
  }

  /*
   * The cases above are the known ones. Here validation is held against PostgreSQL itself on
   * many generated values: whatever loaddata lets through, PostgreSQL must store as it is.
   */
  it('what validation accepts, PostgreSQL stores unchanged (generated dates, timestamps and text)', async (t) => {
    const validators = fieldValidators();
    const rnd = new Random(14);
    const draw = (n: number, make: () => string) => [...new Set(Array.from({ length: n }, make))];
    // Mostly ordinary parts, so that many values get through validation, with odd ones mixed in.
    const pick = (usual: string[], odd: string[]) => rnd.pick(rnd.next() < 0.75 ? usual : odd);
    const year = () => pick(['0001', '1999', '2000', '2100', '9999'], ['0000']);
    const month = () => pick(['01', '02', '12'], ['00', '13']);
    const day = () => pick(['01', '28', '29', '30', '31'], ['00', '32']);
    const timestamps = draw(6000, () =>
      `${year()}-${month()}-${day()}` +
      pick(['T', 't', ' '], ['\t', '\n', '\v', '\f', '\r', '\u00a0', '\u2003', '\u3000', '\u2028', '\ufeff', '_']) +
      `${pick(['00', '12', '23'], ['24', '25'])}:${pick(['00', '30', '59'], ['60', '99'])}:${pick(['00', '59', '60'], ['61'])}` +
      pick(['', '.5', '.123456'], ['.0', '.000000', '.0000004', '.0000005', '.000001', '.9999999', `.${'1'.repeat(100)}`, `.${'1'.repeat(130)}`]) +
      pick(['Z', 'z', '+00:00', '-00:00', '+05:30', '+0530', '-05', '+01:00', '-01:00', '+15:59', '-15:59'], ['+16:00', '-16', '+23:59', '+24:00', '+00:60', '']),
    );
    const dates = draw(500, () => `${year()}-${month()}-${day()}`);
    const texts = draw(3000, () =>
      Array.from({ length: rnd.int(1, 6) }, () =>
        pick(['a', 'é', '日', '😀', '\ufffd', '\uffff', '\u2028', '\u001b'], ['\u0000', '\ud800', '\udbff', '\udc00', '\udfff']),
      ).join(''),
    );

    const passes = (model: string, fields: Record<string, unknown>) => validators.get(model)!(fields) === undefined;
    // PostgreSQL's verdict on every generated value, in one statement per type.
    const verdicts = await h.db.transaction(async (trx) => {
      await trx.raw(`CREATE OR REPLACE FUNCTION pg_temp.reads(v text, type text) RETURNS boolean LANGUAGE plpgsql AS $$
        BEGIN EXECUTE format('SELECT %L::%s', v, type); RETURN true; EXCEPTION WHEN others THEN RETURN false; END $$`);
      const reads = async (values: string[], type: string): Promise<boolean[]> =>
        (await trx.raw('SELECT pg_temp.reads(v, ?) AS ok FROM unnest(?::text[]) WITH ORDINALITY u(v, i) ORDER BY i', [type, values])).rows.map(
          (r: { ok: boolean }) => r.ok,
        );
      return { timestamps: await reads(timestamps, 'timestamptz'), dates: await reads(dates, 'date') };
    });
    const compare = (values: string[], pgReads: boolean[], accepts: (v: string) => boolean, what: string) => {
      const letThrough = values.filter((v, i) => accepts(v) && !pgReads[i]);
      const refusedButReadable = values.filter((v, i) => !accepts(v) && pgReads[i]);
      const accepted = values.filter(accepts).length;
      t.diagnostic(`${what}: ${values.length} generated, ${accepted} accepted, ${refusedButReadable.length} refused that PostgreSQL would read`);
      assert.ok(accepted > values.length / 20, `${what}: enough accepted values to mean something`);
      assert.deepEqual(letThrough.map((v) => JSON.stringify(v)), [], `${what} accepted that PostgreSQL refuses`);
    };
    compare(timestamps, verdicts.timestamps, (v) => passes('movies.person', { name: 'x', created: v }), 'timestamps');
    compare(dates, verdicts.dates, (v) => passes('movies.filmwork', { title: 'x', creation_date: v }), 'dates');

    // Text: what is accepted must come back from PostgreSQL as it went in (the driver writes
    // U+FFFD for a lone surrogate, and PostgreSQL refuses a NUL, failing the whole statement).
    const accepted = texts.filter((v) => passes('movies.person', { name: v }));
    assert.ok(accepted.length > 100 && accepted.length < texts.length, `some of ${texts.length} texts accepted, some refused`);
    const back = (await h.db.raw('SELECT v FROM unnest(?::text[]) WITH ORDINALITY u(v, i) ORDER BY i', [accepted])).rows.map(
      (r: { v: string }) => r.v,
    );
    assert.deepEqual(back, accepted);
    t.diagnostic(`texts: ${texts.length} generated, ${accepted.length} accepted and stored unchanged`);
  });
});
