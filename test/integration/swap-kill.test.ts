import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { aliasCatalogue } from '../helpers/alias-catalogue.js';
import { physicalIndexes } from '../helpers/engine.js';
import { ENGINES } from '../helpers/engines.js';
import { HttpFaultProxy } from '../helpers/http-proxy.js';
import { ExitCode } from '../../src/core/errors.js';

const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('init-es killed with SIGKILL between the engine moving the alias and the database recording it', () => {
  let c: Awaited<ReturnType<typeof aliasCatalogue>>;
  const proxy = new HttpFaultProxy(engine.url);
  before(async () => {
    c = await aliasCatalogue(engine, { name: 'swapkill' });
    await c.json(['init-es']);
    await c.json(['start-etl']);
    await proxy.start();
  });
  after(async () => {
    await proxy.stop();
    await c?.cleanup();
  });

  it('status reports the index the alias really points to, its pending documents, and not health ok', async () => {
    const genres = c.alias('genres');
    const [old] = await physicalIndexes(engine.url, genres);
    // The engine applies the _aliases call; its answer never comes back, and the process is killed waiting for it.
    let moved = false;
    proxy.match = /^\/_aliases/;
    proxy.fault = async (req, forward) => {
      if (req.method !== 'POST' || !req.body.includes(`"alias":"${genres}"`) || !req.body.includes('remove')) return forward();
      await forward();
      moved = true;
      return 'hang';
    };
    const run = c.cli(['init-es'], { ELASTICSEARCH_URL: proxy.url() });
    let exited = false;
    void run.then(() => (exited = true));
    while (!moved && !exited) await sleep(10);
    if (exited) assert.fail(`init-es ended before the swap: ${(await run).stderr}`);
    run.kill('SIGKILL');
    assert.equal((await run).signal, 'SIGKILL');
    const [now] = await physicalIndexes(engine.url, genres);
    assert.notEqual(now, old, 'the engine moved the alias');
    const recorded = await c.db('movies.etl_target').where({ alias: genres, state: 'live' }).first();
    assert.equal(recorded.physical, old, 'the database did not record the swap: the state a kill there leaves');

    // A change made after the kill is pending for the index that now serves.
    await c.db('content.genre').update({ description: 'after the kill' }).whereIn('id', c.db('content.genre').select('id').orderBy('id').limit(2));
    const s = await c.cli(['--json', 'status']);
    const r = JSON.parse(s.stdout);
    assert.equal(r.physical, now, `status shows the index the alias points to: ${s.stdout}`);
    assert.equal(r.pending, 2);
    assert.notEqual(s.code, ExitCode.ok, `status must not say all is well after a killed init-es: ${r.health}`);
    assert.equal(r.lastRun.outcome, 'interrupted');
    // The next run brings it in step, and status is ok again.
    assert.equal((await c.json(['start-etl'])).indexed, 2);
    const ok = await c.cli(['--json', 'status']);
    assert.equal(ok.code, ExitCode.ok, ok.stdout);
  });
});
