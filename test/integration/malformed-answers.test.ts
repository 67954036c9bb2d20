import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { ENGINES, mappingArgs } from '../helpers/engines.js';
import { physicalIndexes } from '../helpers/engine.js';
import { HttpFaultProxy, type Answer } from '../helpers/http-proxy.js';
import { assertIndexMatchesDatabase, assertNothingFalselyMarked, engineCatalogue, pendingCount, type Catalogue } from '../helpers/catalogue.js';
import { ExitCode } from '../../src/core/errors.js';

/*
 * Issue 21, item 9: a bulk answer whose body is cut short (not JSON any more) is a failed
 * request on every engine: retried within --max-retry-time, then exit 3, nothing marked. The
 * engine is the point here (each client reads a broken body its own way), hence the loop.
 */
for (const engine of ENGINES) {
  describe(`malformed answers: a truncated bulk body (${engine.name})`, () => {
    let c: Catalogue;
    let proxy: HttpFaultProxy;
    before(async () => {
      c = await engineCatalogue(engine, { films: 30, seed: 91, name: 'truncated' });
      proxy = new HttpFaultProxy(c.engineUrl);
      await proxy.start();
    });
    after(async () => {
      await proxy?.stop();
      await c?.cleanup();
    });
    beforeEach(async () => {
      proxy.hits = 0;
      await c.db('content.film_work').update({ description: c.db.raw("description || '.'") });
    });
    const viaProxy = () => ({ ...c.env, ELASTICSEARCH_URL: proxy.url() });
    // The real engine stores the documents; only its answer is broken on the way back.
    const cuts: Array<[string, (a: Answer) => Answer]> = [
      ['the connection closes mid-body', (a) => ({ ...a, cutAt: Math.floor(Buffer.byteLength(a.body) / 2) })],
      ['the body stops short (not JSON)', (a) => ({ ...a, body: a.body.slice(0, Math.floor(a.body.length / 2)) })],
    ];
    const truncate = (cut: (a: Answer) => Answer) => {
      proxy.fault = async (_req, forward) => cut(await forward());
    };

    for (const [how, cut] of cuts) {
      it(`${how}: start-etl retries it, then exits 3 with nothing marked`, async () => {
        truncate(cut);
        const r = await runCli(['--max-retry-time', '2', 'start-etl', '--batch', '10'], viaProxy());
        assert.equal(r.code, ExitCode.connection, `exit ${r.code}: ${r.stderr}`);
        assert.ok(proxy.hits > 1, `the bulk request was retried (${proxy.hits} requests)`);
        // An outage, not a refusal (the OpenSearch client calls a body cut short an "HTTP 200" error).
        assert.match(r.stderr, /error: search engine (unreachable|sent malformed answers past --max-retry-time)/);
        assert.equal(await pendingCount(c), 30, 'no film was marked');
        await assertNothingFalselyMarked(c);
      });

      it(`${how}: init-es retries it, then exits 3 and leaves the alias where it was`, async () => {
        truncate(cut);
        const before = await physicalIndexes(c.engineUrl, c.index);
        const r = await runCli(['--max-retry-time', '2', 'init-es', '--batch', '10', ...mappingArgs(engine)], viaProxy());
        assert.equal(r.code, ExitCode.connection, `exit ${r.code}: ${r.stderr}`);
        assert.ok(proxy.hits > 1, `the bulk request was retried (${proxy.hits} requests)`);
        assert.deepEqual(await physicalIndexes(c.engineUrl, c.index), before);
        proxy.fault = undefined;
        const again = await runCli(['start-etl'], c.env);
        assert.equal(again.code, 0, again.stderr);
        await assertIndexMatchesDatabase(c);
      });
    }
  });
}
