import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { names } from '../../src/catalogue/names.js';
import { defaultCatalogue, resolveCatalogue } from '../../src/catalogue/resolve.js';
import { practicumLayout } from '../../src/catalogue/layouts/practicum.js';
import { UsageError } from '../../src/core/errors.js';
import type { Layout } from '../../src/catalogue/layout.js';

describe('catalogue names', () => {
  it('quotes and qualifies every table and column of the layout', () => {
    const n = names({ schema: 'public', layout: practicumLayout, layoutName: 'practicum' });
    assert.equal(n.t.film_work_person, '"public"."person_film_work"');
    assert.equal(n.c.genre.genre, '"name"');
    assert.equal(n.c.film_work_person.job, '"role"');
  });

  it('escapes double quotes in names', () => {
    const layout = structuredClone(practicumLayout) as Layout;
    layout.person.table = 'the "people"';
    assert.equal(names({ schema: 'a"b', layout, layoutName: 'x' }).t.person, '"a""b"."the ""people"""');
  });

  it("reads an absent text as '' and an absent rating as NULL, and refuses to name an absent column", () => {
    const layout = structuredClone(practicumLayout) as Layout;
    layout.film_work.columns.description = null;
    layout.film_work.columns.imdb_rating = null;
    const n = names({ schema: 'content', layout, layoutName: 'mine' });
    assert.equal(n.text('film_work', 'description', 'fw'), "''::text");
    assert.equal(n.float('film_work', 'imdb_rating', 'fw'), 'NULL::float8');
    assert.equal(n.has('film_work', 'description'), false);
    assert.throws(() => n.c.film_work.description, /layout mine maps no column for film_work.description/);
    // Absent columns stay out of enumeration, so that printing or serializing names never throws.
    assert.doesNotThrow(() => JSON.stringify(n.c));
  });

  it('coalesces a present nullable text to the default layout\'s empty string', () => {
    const n = names(defaultCatalogue());
    assert.equal(n.text('genre', 'description', 'g'), `COALESCE(g."description"::text, '')`);
    assert.equal(n.float('film_work', 'imdb_rating', 'fw'), 'fw."imdb_rating"::float8');
  });

  it('refuses schema movies, which holds movies\' own objects', () => {
    assert.throws(() => resolveCatalogue({ schema: 'movies' }), (e: unknown) => e instanceof UsageError && /reserved/.test((e as Error).message));
  });
});
