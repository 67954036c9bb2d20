import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { ENGINES } from '../helpers/engines.js';
import { HttpFaultProxy } from '../helpers/http-proxy.js';
import { assertIndexMatchesDatabase, engineCatalogue, type Catalogue } from '../helpers/catalogue.js';
import { startWatch, within } from '../helpers/watch.js';

/* SIGTERM ends a watch with 0 within 10 s, whatever its engine does, and clears its flags. */
const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;

describe('SIGTERM while a bulk request hangs', () => {
  let c: Catalogue;
  before(async () => {
    c = await engineCatalogue(engine, { films: 60, seed: 78, name: 'watchstop' });
  });
  after(async () => c?.cleanup());

  it('the watch exits 0 within 10 s; the films stay pending', async () => {
    const es = new HttpFaultProxy(engine.url);
    await es.start();
    const w = await startWatch({ ...c.env, ELASTICSEARCH_URL: es.url() }, ['--poll-interval', '1', '--max-retry-time', '120']);
    try {
      await within(15_000, () => `healthy after the first cycle (${w.stderr})`, async () => (await w.health()) === 200);
      es.fault = () => 'hang';
      const ids = (await c.db('content.film_work').orderBy('id').limit(5).pluck('id')) as string[];
      await c.db('content.film_work').whereIn('id', ids).update({ title: 'Hung' });
      await within(10_000, 'the bulk request reached the engine', async () => es.hits > 0);
      const t0 = Date.now();
      const r = await w.stop();
      const ms = Date.now() - t0;
      console.log(`stopped ${ms} ms after SIGTERM, code ${r.code}`);
      assert.equal(r.code, 0, `exit 0: ${w.stderr}`);
      assert.ok(ms < 10_000, `within 10 s (${ms} ms)`);
      assert.equal(Number((await c.db('movies.film_work_change').count({ n: '*' }))[0]!.n), 5, 'nothing acknowledged, nothing marked');
    } finally {
      await w.stop();
      await es.stop();
    }
    assert.equal((await runCli(['start-etl'], c.env)).code, 0);
    await assertIndexMatchesDatabase(c);
  });
});
