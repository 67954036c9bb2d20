import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { aliasCatalogue } from '../helpers/alias-catalogue.js';
import { ENGINES } from '../helpers/engines.js';
import { physicalIndexes } from '../helpers/engine.js';
import { startWatch, within } from '../helpers/watch.js';

/* Each index a watch keeps stays in step on its own, whatever another index's trouble. */
const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;

async function fullName(base: string, index: string, id: string): Promise<string | undefined> {
  const res = await fetch(`${base}/${index}/_search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: { ids: { values: [id] } } }),
  });
  const hits = ((await res.json()) as { hits?: { hits?: Array<{ _source: { full_name: string } }> } }).hits?.hits ?? [];
  return hits[0]?._source.full_name;
}

describe('a watch over several indexes, one of them failing', () => {
  let c: Awaited<ReturnType<typeof aliasCatalogue>>;
  before(async () => {
    c = await aliasCatalogue(engine, { name: 'watchiso', films: 80, only: 'movies,persons' });
    for (const args of [['init-es'], ['start-etl']]) {
      const r = await c.cli(args);
      assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
    }
  });
  after(async () => c?.cleanup());

  it('the film index deleted under the watch: persons go on being indexed, /healthz names the film index', async () => {
    const w = await startWatch(c.env, ['--poll-interval', '1', '--max-retry-time', '1']);
    try {
      await within(15_000, () => `healthy after the first cycle (${w.stderr})`, async () => (await w.health()) === 200);
      for (const physical of await physicalIndexes(engine.url, c.alias('movies'))) {
        assert.equal((await fetch(`${engine.url}/${physical}`, { method: 'DELETE' })).status, 200);
      }
      await within(10_000, 'the film cycles fail', async () => /cycle failed/.test(w.stderr));
      const person = (await c.db('content.person').orderBy('id').first('id')).id as string;
      await c.db('content.person').where({ id: person }).update({ name: 'Renamed Under Trouble' });
      const ms = await within(10_000, () => `the rename is in the persons index (${w.stderr.slice(-600)})`, async () => (await fullName(engine.url, c.alias('persons'), person)) === 'Renamed Under Trouble');
      console.log(`person rename searchable after ${ms} ms while the film index fails`);
      const h = await w.healthz();
      assert.equal(h.status, 503);
      assert.match(h.reason, new RegExp(c.alias('movies')), h.reason);
      assert.doesNotMatch(h.reason, new RegExp(c.alias('persons')), h.reason);
    } finally {
      const r = await w.stop();
      assert.equal(r.code, 0, w.stderr);
    }
  });
});
