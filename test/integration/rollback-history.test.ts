import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { aliasCatalogue, indexExists } from '../helpers/alias-catalogue.js';
import { physicalIndexes } from '../helpers/engine.js';
import { ENGINES } from '../helpers/engines.js';
import { freshDatabase, legacyDatabase, TIMEOUTS } from '../helpers/db.js';
import { migrate } from '../../src/commands/migrate.js';
import { names } from '../../src/catalogue/names.js';
import { defaultCatalogue } from '../../src/catalogue/resolve.js';
import { serviceEnv } from '../helpers/env.js';

// The engine is not the point here: the history lives in the database.
const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;

describe('rollback history: pruning and rollback follow which index served when, not creation order', () => {
  let c: Awaited<ReturnType<typeof aliasCatalogue>>;
  before(async () => {
    c = await aliasCatalogue(engine, { name: 'hist' });
  });
  after(async () => c?.cleanup());

  it('init-es A, init-es B, rollback (to A), init-es C: A is kept, B is pruned, and rollback goes back to A', async () => {
    const genres = c.alias('genres');
    const a = (await c.json(['init-es'])).physical as string;
    const b = (await c.json(['init-es'])).physical as string;
    assert.equal((await c.json(['rollback'])).physical, a);
    assert.deepEqual(await physicalIndexes(engine.url, genres), [a]);
    const built = await c.json(['init-es']);
    const cIndex = built.physical as string;
    assert.equal(built.previous, a);
    assert.ok(await indexExists(engine.url, a), `A (${a}), which served until C, is kept for rollback; init-es dropped ${JSON.stringify(built.dropped)}`);
    assert.ok(!(await indexExists(engine.url, b)), `B (${b}), rolled away from, is pruned (--keep 1)`);
    assert.deepEqual(built.dropped, [b]);
    const back = await c.json(['rollback']);
    assert.equal(back.physical, a, 'rollback returns to the index that served before C');
    assert.equal(back.previous, cIndex);
    assert.deepEqual(await physicalIndexes(engine.url, genres), [a]);
    // A rollback is itself a step of the history: once more goes forward to C.
    assert.equal((await c.json(['rollback'])).physical, cIndex);
  });

  it('--keep 2 keeps the two indexes that served last, whatever order they were built in', async () => {
    const genres = c.alias('genres');
    const [live] = await physicalIndexes(engine.url, genres);
    const d = (await c.json(['init-es', '--keep', '2'])).physical as string;
    const e = (await c.json(['init-es', '--keep', '2'])).physical as string;
    // d and the one before it (live) are the last two that served before e.
    assert.ok(await indexExists(engine.url, d));
    assert.ok(await indexExists(engine.url, live!));
    assert.equal((await c.json(['rollback'])).physical, d);
    // Serving order now: d (now), e, live. A third build with --keep 2 keeps d and e.
    const f = await c.json(['init-es', '--keep', '2']);
    assert.deepEqual(f.dropped, [live]);
    assert.ok(await indexExists(engine.url, e));
    const kept = (await c.json(['targets'])).targets.filter((t: { state: string }) => t.state === 'kept').map((t: { physical: string }) => t.physical);
    assert.deepEqual(kept.sort(), [d, e].sort());
  });
});

describe('migration 008 derives the serving history of an existing database', () => {
  it('the live target is the latest to have served, kept ones in the order they were created', async () => {
    const h = await legacyDatabase(serviceEnv().DATABASE_URL, '007_link_locks_parent');
    try {
      const row = (physical: string, state: string, createdAt: string) => ({
        index_name: 'genres',
        cluster: 'c1',
        alias: 'genres',
        physical,
        state,
        created_at: createdAt,
      });
      // The live one was created before the kept ones (a rollback happened before the upgrade).
      await h.db('content.etl_target').insert([
        row('genres_1', 'live', '2026-01-01T00:00:00Z'),
        row('genres_2', 'kept', '2026-01-02T00:00:00Z'),
        row('genres_3', 'kept', '2026-01-03T00:00:00Z'),
        row('genres_4', 'building', '2026-01-04T00:00:00Z'),
      ]);
      const catalogue = defaultCatalogue();
      await migrate({ db: h.db, databaseUrl: h.url, timeouts: TIMEOUTS, catalogue, names: names(catalogue) });
      const rows = await h.db('movies.etl_target').select('physical').whereNotNull('live_since').orderBy('live_since', 'desc');
      assert.deepEqual(rows.map((r) => r.physical), ['genres_1', 'genres_3', 'genres_2'], 'a building target has not served');
    } finally {
      await h.drop();
    }
  });
});
