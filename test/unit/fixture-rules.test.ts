import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadValidator } from '../../src/core/json-schema.js';
import { filmsIndex } from '../../src/indexes/films/index.js';
import { fieldValidators } from '../../src/django/validate.js';

/*
 * A fixture field that becomes part of the search document must be refused by loaddata
 * exactly when start-etl's document schema would refuse it (else the ETL run stalls on it
 * later); where the column is stricter (genre: varchar(255)) loaddata may refuse more.
 */

const document = loadValidator(filmsIndex.schemaPath);
const fixtures = fieldValidators();
const FILM = '00000000-0000-4000-8000-000000000001';

const validFields: Record<string, Record<string, unknown>> = {
  'movies.filmwork': { title: 'T', description: 'd', imdb_rating: 5 },
  'movies.genre': { genre: 'Drama' },
  'movies.person': { name: 'Ann' },
};
const validDocument = {
  id: FILM,
  imdb_rating: 5,
  genre: ['Drama'],
  title: 'T',
  description: '',
  director: ['Dan'],
  actors_names: ['Ann'],
  writers_names: ['Wes'],
  actors: [{ id: FILM, name: 'Ann' }],
  writers: [{ id: FILM, name: 'Wes' }],
};

const candidates: unknown[] = [
  null, true, '7', [], {},
  0, -0, -3, -0.001, 0.001, 5, 9.999, 10, 10.001, 11, 1e308, -1e308, Number.NaN, Infinity, -Infinity,
  '', ' ', 'x', 'x'.repeat(254), 'x'.repeat(255), 'x'.repeat(256), 'é'.repeat(255), 'é'.repeat(256),
  '😀'.repeat(255), '😀'.repeat(256), 'x'.repeat(10_000),
];

const fixtureAccepts = (model: string, field: string, value: unknown) =>
  fixtures.get(model)!({ ...validFields[model], [field]: value }) === undefined;
const documentAccepts = (...changes: Array<Record<string, unknown>>) =>
  changes.every((change) => document({ ...validDocument, ...change }));
const show = (v: unknown) => (typeof v === 'string' && v.length > 20 ? `${v.slice(0, 3)}…×${v.length}` : String(v));

test('title, imdb_rating and description: loaddata refuses exactly what the document schema refuses', () => {
  for (const value of candidates) {
    for (const field of ['title', 'imdb_rating']) {
      assert.equal(fixtureAccepts('movies.filmwork', field, value), documentAccepts({ [field]: value }), `${field} = ${show(value)}`);
    }
    // A null description loads as '', which is what the document then carries.
    const description = value === null ? '' : value;
    assert.equal(fixtureAccepts('movies.filmwork', 'description', value), documentAccepts({ description }), `description = ${show(value)}`);
  }
});

test('a person name: refused exactly when some place a person lands in the document refuses it', () => {
  for (const value of candidates) {
    const expected = documentAccepts(
      { director: [value] },
      { actors_names: [value] },
      { writers_names: [value] },
      { actors: [{ id: FILM, name: value }] },
      { writers: [{ id: FILM, name: value }] },
    );
    assert.equal(fixtureAccepts('movies.person', 'name', value), expected, `name = ${show(value)}`);
  }
});

test('a genre name: everything the document refuses, and beyond that only what varchar(255) cannot hold', () => {
  for (const value of candidates) {
    const inDocument = documentAccepts({ genre: [value] });
    const fitsColumn = typeof value !== 'string' || [...value].length <= 255;
    assert.equal(fixtureAccepts('movies.genre', 'genre', value), inDocument && fitsColumn, `genre = ${show(value)}`);
  }
});
