import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InterruptedError, InvalidDataError } from '../../src/core/errors.js';
import type { PendingRow } from '../../src/indexes/spec.js';
import type { MovieDocument } from '../../src/indexes/films/document.js';
import { withRetry } from '../../src/core/retry.js';
import { loadValidator } from '../../src/core/json-schema.js';
import { filmsIndex } from '../../src/indexes/films/index.js';
import { toBulk } from '../../src/etl/transformer.js';
import { detectKind } from '../../src/engine/connect.js';

const film = (over: Partial<MovieDocument> = {}): MovieDocument => ({
  id: '00879409-6589-4cc5-b8ae-f3dcc79c49ba',
  imdb_rating: null,
  genre: ['Sci-Fi'],
  title: 'Star Trek',
  description: '',
  director: [],
  actors_names: ['Ann'],
  writers_names: ['Bob'],
  actors: [{ id: 'a0000000-0000-4000-8000-000000000001', name: 'Ann' }],
  writers: [{ id: 'a0000000-0000-4000-8000-000000000002', name: 'Bob' }],
  ...over,
});

/** A pending film as the page query returns it: its document as PostgreSQL's JSON text (spaced as json_build_object spaces it). */
const row = (over: Partial<PendingRow> = {}, doc: Partial<MovieDocument> = {}): PendingRow => {
  const id = over.id ?? '00879409-6589-4cc5-b8ae-f3dcc79c49ba';
  return { id, version: 1, doc: JSON.stringify(film({ id, ...doc }), null, 1).replace(/\n/g, ''), ...over };
};

describe('transformer', () => {
  const validate = loadValidator(filmsIndex.schemaPath);

  it("sends PostgreSQL's JSON text as it is, after the action line, with the md5 of that text first", () => {
    const r = row();
    const b = toBulk([r], 'movies', filmsIndex, validate);
    const md5 = createHash('md5').update(Buffer.from(r.doc!, 'utf8')).digest('hex');
    assert.equal(b.body, `{"index":{"_index":"movies","_id":"${r.id}"}}\n{"content_hash":"${md5}",${r.doc!.slice(1)}\n`);
    assert.deepEqual(JSON.parse(b.body.split('\n')[1]!), { content_hash: md5, ...JSON.parse(r.doc!) });
    assert.deepEqual(b.actions, [{ id: r.id, version: 1, op: 'index', start: 0, end: b.body.length }]);
  });

  it('escapes the index name in the action line', () => {
    const b = toBulk([row()], 'odd"name', filmsIndex, validate);
    assert.equal(JSON.parse(b.body.split('\n')[0]!).index._index, 'odd"name');
  });

  it('rejects a rating of 11 naming the film, the field and the rule', () => {
    assert.throws(
      () => toBulk([row({}, { imdb_rating: 11 })], 'movies', filmsIndex, validate),
      (e: unknown) =>
        e instanceof InvalidDataError &&
        /00879409-6589-4cc5-b8ae-f3dcc79c49ba/.test(e.message) &&
        /imdb_rating/.test(e.message) &&
        /maximum/.test(e.message),
    );
  });

  it('turns a vanished film into a delete by _id', () => {
    const b = toBulk([row({ doc: null }), row({ id: 'b0000000-0000-4000-8000-000000000000', version: 2 })], 'ix', filmsIndex, validate);
    const lines = b.body.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(b.body.slice(b.actions[1]!.start, b.actions[1]!.end).split('\n').length, 3, 'an index action is its two lines');
    assert.deepEqual(lines[0], { delete: { _index: 'ix', _id: '00879409-6589-4cc5-b8ae-f3dcc79c49ba' } });
    assert.deepEqual(lines[1], { index: { _index: 'ix', _id: 'b0000000-0000-4000-8000-000000000000' } });
    assert.deepEqual(b.actions.map((a) => a.op), ['delete', 'index']);
    assert.deepEqual(b.actions.map((a) => a.version), [1, 2]);
  });

  it('with skipInvalid, leaves an invalid document out and returns its rejection', () => {
    const good = row({ id: 'b0000000-0000-4000-8000-000000000000', version: 2 });
    const b = toBulk([row({}, { imdb_rating: 11 }), good], 'ix', filmsIndex, validate, true);
    assert.deepEqual(b.actions.map((a) => a.id), [good.id]);
    assert.equal(b.invalid.length, 1);
    assert.deepEqual({ ...b.invalid[0], reason: undefined }, {
      id: '00879409-6589-4cc5-b8ae-f3dcc79c49ba', version: 1, field: 'imdb_rating', rule: 'maximum', reason: undefined,
    });
  });
});

describe('loader helpers', () => {
  it('withRetry backs off within its budget and then gives up', async () => {
    let now = 0;
    let calls = 0;
    const delays: number[] = [];
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw new Error('down');
        },
        { maxRetryTimeMs: 5000 },
        { isRetryable: () => true, describe: String, now: () => now, sleep: async (ms: number) => { delays.push(ms); now += ms + 100; } },
      ),
      /down/,
    );
    assert.ok(calls > 2);
    assert.ok(now >= 5000);
    assert.ok(delays.every((d) => d >= 0 && d <= 10_000));
  });

  it('withRetry does not retry what is not retryable', async () => {
    let calls = 0;
    await assert.rejects(withRetry(async () => { calls++; throw new Error('bad'); }, { maxRetryTimeMs: 5000 }, { isRetryable: () => false, describe: String }));
    assert.equal(calls, 1);
  });

  it('withRetry stops waiting at once when the stop signal fires', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort('SIGTERM'), 50);
    await assert.rejects(
      withRetry(async () => { throw new Error('down'); }, { maxRetryTimeMs: 60_000, signal: controller.signal }, {
        isRetryable: () => true, describe: String, baseDelayMs: 30_000, maxDelayMs: 30_000,
      }),
      (e: unknown) => e instanceof InterruptedError && /SIGTERM/.test(e.message),
    );
    assert.ok(Date.now() - started < 5_000, 'the backoff sleep was cut short');
  });

  it('detects the engine from GET /', () => {
    assert.equal(detectKind({ version: { number: '2.19.1', distribution: 'opensearch' } }, null), 'opensearch');
    assert.equal(detectKind({ version: { number: '9.1.0' } }, 'Elasticsearch'), 'elasticsearch');
  });
});
