import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidDataError } from '../../src/errors.js';
import type { FilmRow } from '../../src/etl/extractor.js';
import { keepIds } from '../../src/etl/loader.js';
import { withRetry } from '../../src/etl/retry.js';
import { loadValidator } from '../../src/etl/schema.js';
import { toBulk, toDocument } from '../../src/etl/transformer.js';
import { detectKind } from '../../src/engine/connect.js';

const row = (over: Partial<FilmRow> = {}): FilmRow => ({
  film_work_id: '00879409-6589-4cc5-b8ae-f3dcc79c49ba',
  version: 1,
  present: true,
  title: 'Star Trek',
  description: null,
  imdb_rating: null,
  genres: ['Sci-Fi'],
  people: [
    { id: 'a0000000-0000-4000-8000-000000000001', name: 'Ann', job: 'actor' },
    { id: 'a0000000-0000-4000-8000-000000000002', name: 'Bob', job: 'writer' },
  ],
  ...over,
});

describe('transformer', () => {
  const validate = loadValidator();

  it('builds complete documents with empty arrays, null rating and "" description', () => {
    const d = toDocument(row());
    assert.deepEqual(d.director, []);
    assert.equal(d.imdb_rating, null);
    assert.equal(d.description, '');
    assert.deepEqual(d.actors, [{ id: 'a0000000-0000-4000-8000-000000000001', name: 'Ann' }]);
    assert.deepEqual(d.writers_names, ['Bob']);
    assert.ok(validate(d), JSON.stringify(validate.errors));
  });

  it('rejects a rating of 11 naming the film, the field and the rule', () => {
    assert.throws(
      () => toBulk([row({ imdb_rating: 11 })], 'movies', validate),
      (e: unknown) =>
        e instanceof InvalidDataError &&
        /00879409-6589-4cc5-b8ae-f3dcc79c49ba/.test(e.message) &&
        /imdb_rating/.test(e.message) &&
        /maximum/.test(e.message),
    );
  });

  it('turns a vanished film into a delete by _id', () => {
    const b = toBulk([row({ present: false }), row({ film_work_id: 'b0000000-0000-4000-8000-000000000000', version: 2 })], 'ix', validate);
    const lines = b.ndjson.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines[0], { delete: { _index: 'ix', _id: '00879409-6589-4cc5-b8ae-f3dcc79c49ba' } });
    assert.deepEqual(lines[1], { index: { _index: 'ix', _id: 'b0000000-0000-4000-8000-000000000000' } });
    assert.equal(b.deleted, 1);
    assert.equal(b.indexed, 1);
    assert.deepEqual(b.versions, [1, 2]);
  });
});

describe('loader helpers', () => {
  it('keepIds keeps only the named actions with their sources', () => {
    const nd = [
      { index: { _id: 'a' } }, { t: 1 },
      { delete: { _id: 'b' } },
      { index: { _id: 'c' } }, { t: 3 },
    ].map((x) => JSON.stringify(x)).join('\n') + '\n';
    const kept = keepIds(nd, new Set(['b', 'c'])).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(kept, [{ delete: { _id: 'b' } }, { index: { _id: 'c' } }, { t: 3 }]);
  });

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
        { maxRetryTimeMs: 5000, isRetryable: () => true, now: () => now, sleep: async (ms) => { delays.push(ms); now += ms + 100; } },
      ),
      /down/,
    );
    assert.ok(calls > 2);
    assert.ok(now >= 5000);
    assert.ok(delays.every((d) => d >= 0 && d <= 10_000));
  });

  it('withRetry does not retry what is not retryable', async () => {
    let calls = 0;
    await assert.rejects(withRetry(async () => { calls++; throw new Error('bad'); }, { maxRetryTimeMs: 5000, isRetryable: () => false }));
    assert.equal(calls, 1);
  });

  it('detects the engine from GET /', () => {
    assert.equal(detectKind({ version: { number: '2.19.1', distribution: 'opensearch' } }, null), 'opensearch');
    assert.equal(detectKind({ version: { number: '9.1.0' } }, 'Elasticsearch'), 'elasticsearch');
  });
});
