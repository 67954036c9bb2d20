import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { aliasCatalogue, indexExists } from '../helpers/alias-catalogue.js';
import { physicalIndexes } from '../helpers/engine.js';
import { ENGINES, mappingArgs } from '../helpers/engines.js';
import { ExitCode } from '../../src/core/errors.js';

// Whether an index is open is read by each engine adapter: this one runs on every engine.
for (const engine of ENGINES) {
  describe(`rollback refuses a kept index that is closed (${engine.name})`, () => {
    let c: Awaited<ReturnType<typeof aliasCatalogue>>;
    before(async () => {
      c = await aliasCatalogue(engine, { name: 'guard' });
    });
    after(async () => c?.cleanup());

    it('exit 2 naming the closed index and how to open it; the alias stays where it was and searches keep working', async () => {
      const genres = c.alias('genres');
      const map = engine.mapping ? ['--mapping', engine.mapping] : [];
      const a = (await c.json(['init-es', ...map])).physical as string;
      const b = (await c.json(['init-es', ...map])).physical as string;
      assert.ok((await fetch(`${engine.url}/${a}/_close`, { method: 'POST' })).ok);
      const r = await c.cli(['rollback']);
      assert.equal(r.code, ExitCode.usage, `exit ${r.code}: ${r.stdout}${r.stderr}`);
      assert.ok(r.stderr.includes(a), r.stderr);
      assert.match(r.stderr, /closed/);
      assert.match(r.stderr, /_open/);
      assert.deepEqual(await physicalIndexes(engine.url, genres), [b], 'the alias is untouched');
      assert.ok((await fetch(`${engine.url}/${genres}/_count`)).ok, 'searches on the alias still work');
      // Opened again, it is what rollback goes back to.
      assert.ok((await fetch(`${engine.url}/${a}/_open`, { method: 'POST' })).ok);
      assert.equal((await c.json(['rollback'])).physical, a);
    });
  });
}

const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;

describe('init-es never removes an index that is not its own target\'s', () => {
  let c: Awaited<ReturnType<typeof aliasCatalogue>>;
  before(async () => {
    c = await aliasCatalogue(engine, { name: 'own', films: 40 });
    await c.json(['init-es', '--only', 'genres', ...(engine.mapping ? ['--mapping', engine.mapping] : [])]);
  });
  after(async () => c?.cleanup());

  const indexesNow = async () =>
    ((await (await fetch(`${engine.url}/_cat/indices/${c.prefix}*?format=json&h=index`)).json()) as Array<{ index: string }>).map((x) => x.index).sort();

  it('--index naming the concrete index behind another alias: exit 2 before anything changes, the other alias keeps serving', async () => {
    const genres = c.alias('genres');
    const [physical] = await physicalIndexes(engine.url, genres);
    const before = await indexesNow();
    const targets = (await c.json(['targets'])).targets;
    const r = await c.cli(['init-es', '--only', 'movies', '--index', physical!, ...mappingArgs(engine)]);
    assert.equal(r.code, ExitCode.usage, `exit ${r.code}: ${r.stdout}${r.stderr}`);
    assert.ok(r.stderr.includes(physical!) && r.stderr.includes(genres), r.stderr);
    assert.ok(await indexExists(engine.url, physical!), 'the index behind the other alias is still there');
    assert.deepEqual(await physicalIndexes(engine.url, genres), [physical]);
    assert.deepEqual(await indexesNow(), before, 'no index created or removed');
    assert.deepEqual((await c.json(['targets'])).targets, targets, 'no target registered');
  });

  it("--index naming another index's alias: exit 2, that alias is left alone", async () => {
    const genres = c.alias('genres');
    const [physical] = await physicalIndexes(engine.url, genres);
    const before = await indexesNow();
    const r = await c.cli(['init-es', '--only', 'movies', '--index', genres, ...mappingArgs(engine)]);
    assert.equal(r.code, ExitCode.usage, `exit ${r.code}: ${r.stdout}${r.stderr}`);
    assert.ok(r.stderr.includes(genres), r.stderr);
    assert.deepEqual(await physicalIndexes(engine.url, genres), [physical]);
    assert.deepEqual(await indexesNow(), before, 'no index created or removed');
  });
});
