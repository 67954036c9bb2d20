import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateCatalogue } from '../../src/django/generate.js';
import { fieldValidators } from '../../src/django/validate.js';

describe('generator', () => {
  it('is deterministic and valid', () => {
    const a = [...generateCatalogue({ films: 50, seed: 3 })];
    const b = [...generateCatalogue({ films: 50, seed: 3 })];
    const c = [...generateCatalogue({ films: 50, seed: 4 })];
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    const validators = fieldValidators();
    for (const o of a) assert.equal(validators.get(o.model)!(o.fields), undefined, JSON.stringify(o));
  });

  it('gives each film 2-3 genres and 5-8 people from a shared pool', () => {
    const objs = [...generateCatalogue({ films: 200, seed: 1 })];
    const films = objs.filter((o) => o.model === 'movies.filmwork');
    assert.equal(films.length, 200);
    const per = (model: string) => {
      const m = new Map<string, number>();
      for (const o of objs) if (o.model === model) m.set(o.fields.film_work as string, (m.get(o.fields.film_work as string) ?? 0) + 1);
      return [...m.values()];
    };
    assert.ok(per('movies.filmworkgenre').every((n) => n >= 2 && n <= 3));
    assert.ok(per('movies.filmworkperson').every((n) => n >= 5 && n <= 8));
    const persons = new Set(objs.filter((o) => o.model === 'movies.filmworkperson').map((o) => o.fields.person));
    assert.ok(persons.size < objs.filter((o) => o.model === 'movies.filmworkperson').length / 2, 'people are reused');
  });
});
