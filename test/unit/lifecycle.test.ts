import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { swapActions } from '../../src/lifecycle/rebuild.js';
import { buildAlias, physicalName } from '../../src/lifecycle/names.js';

describe('lifecycle: names and the one _aliases call of a swap', () => {
  it('names a concrete index after its alias and the time, to the millisecond, in sortable form', () => {
    const a = physicalName('movies', new Date('2026-11-28T19:12:00.123Z'));
    const b = physicalName('movies', new Date('2026-11-28T19:12:00.124Z'));
    assert.equal(a, 'movies_20261128t191200123z');
    assert.ok(a < b);
    assert.equal(a, a.toLowerCase(), 'index names must be lowercase');
  });

  it('an alias: removed from each index it points to (must_exist), added to the new one, the build alias removed', () => {
    assert.deepEqual(swapActions({ kind: 'alias', indices: ['movies_old'] }, 'movies', 'movies_new'), [
      { remove: { index: 'movies_old', alias: 'movies', must_exist: true } },
      { add: { index: 'movies_new', alias: 'movies' } },
      { remove: { index: 'movies_new', alias: buildAlias('movies_new'), must_exist: true } },
    ]);
  });

  it("an earlier version's concrete index goes in the same call; a missing name is just added", () => {
    assert.deepEqual(swapActions({ kind: 'index', open: true, aliases: [] }, 'movies', 'movies_new')[0], { remove_index: { index: 'movies' } });
    assert.deepEqual(swapActions({ kind: 'missing' }, 'movies', 'movies_new').map((a) => Object.keys(a)[0]), ['add', 'remove']);
  });
});
