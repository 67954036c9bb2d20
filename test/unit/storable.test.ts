import assert from 'node:assert/strict';
import { test } from 'node:test';
import { storableProblem } from '../../src/django/storable.js';
import { fieldValidators } from '../../src/django/validate.js';

// Which values PostgreSQL reads is tested against PostgreSQL itself in
// test/integration/loaddata-input.test.ts; here: positions, pairs and messages.

test('text: a surrogate pair is fine, a lone surrogate or a NUL is not, and the message says where', () => {
  for (const ok of ['', 'plain', '😀', 'a😀b😀', '\uffff', '\ufffd', 'line\nbreak']) {
    assert.equal(storableProblem('text', ok), undefined, JSON.stringify(ok));
  }
  const cases: Array<[string, RegExp]> = [
    ['ab\u0000', /NUL .* at character 3\b/],
    ['😀\ud800', /lone surrogate \(\\ud800\) at character 3\b/],
    ['\udc00😀', /lone surrogate \(\\udc00\) at character 1\b/],
    ['\ude00\ud83d', /lone surrogate \(\\ude00\) at character 1\b/], // a pair the wrong way round
    [`${'x'.repeat(1_000_000)}\ud83d`, /at character 1,000,001\b/],
  ];
  for (const [text, message] of cases) assert.match(storableProblem('text', text) ?? 'accepted', message);
});

test('only the types that need it are checked', () => {
  assert.equal(storableProblem('uuid', '\u0000'), undefined);
  assert.equal(storableProblem('float8', '\u0000'), undefined);
});

test('the fixture validator applies it to every text, date and timestamp column, after the schema', () => {
  const v = fieldValidators();
  const film = v.get('movies.filmwork')!;
  assert.match(film({ title: 'T', film_rating: 'P\u0000G' })!.message, /^field "film_rating" contains a NUL/);
  assert.match(film({ title: 'T', creation_date: '0000-01-01' })!.message, /^field "creation_date" "0000-01-01" has year 0000/);
  assert.equal(film({ title: 'T', creation_date: '0001-01-01', created: '0001-01-01T00:00:00+15:59' }), undefined);
  // indexed_at is not stored: nothing PostgreSQL-specific applies to it.
  assert.equal(film({ title: 'T', indexed_at: '\u0000' }), undefined);
  // The schema speaks first.
  assert.match(film({ title: '' })!.message, /^field "title" must NOT have fewer than 1 characters/);
  const link = v.get('movies.filmworkperson')!;
  const ids = { film_work: '00000000-0000-4000-8000-000000000001', person: '00000000-0000-4000-8000-000000000002', job: 'actor' };
  assert.match(link({ ...ids, modified: '2020-01-01T00:00:00-16:00' })!.message, /^field "modified" .*offset -16:00/);
});
