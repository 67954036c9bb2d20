import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { serviceEnv } from '../helpers/env.js';
import { ENGINES } from '../helpers/engines.js';
import { CAPTURES } from '../helpers/captures.js';
import { deleteIndex } from '../helpers/engine.js';
import { Proxy } from '../helpers/proxy.js';
import {
  assertIndexMatchesDatabase,
  assertNothingFalselyMarked,
  engineCatalogue,
  pendingCount as pendingOf,
  type Catalogue,
} from '../helpers/catalogue.js';
import { ExitCode } from '../../src/core/errors.js';

const services = serviceEnv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const capture of CAPTURES)
for (const engine of ENGINES) {
  describe(`outages: retries within --max-retry-time, then a clear failure with nothing lost (${engine.name}, ${capture.mode})`, () => {
    let c: Catalogue;
    let engineProxy: Proxy;
    let pgProxy: Proxy;
    before(async () => {
      c = await engineCatalogue(engine, { films: 800, seed: 21, name: 'outage', capture });
      engineProxy = Proxy.forUrl(engine.url);
      pgProxy = Proxy.forUrl(c.url);
      await engineProxy.start();
      await pgProxy.start();
    });
    after(async () => {
      await engineProxy?.stop();
      await pgProxy?.stop();
      await c?.cleanup();
    });

    const pendingCount = () => pendingOf(c);
    const touchAll = () => c.db('content.film_work').update({ description: c.db.raw("description || '!'") });
    async function waitForProgress(total: number) {
      for (let i = 0; i < 500 && (await pendingCount()) >= total; i++) await sleep(10);
    }

    const assertNothingMarkedUnacknowledged = () => assertNothingFalselyMarked(c);

    it('engine cut mid-run and restored within the budget: the run succeeds', async () => {
      await touchAll();
      const env = { ...c.env, ELASTICSEARCH_URL: engineProxy.url(engine.url) };
      const run = runCli(['--json', 'start-etl', '--batch', '10', '--concurrency', '1', '--max-retry-time', '60'], env);
      await waitForProgress(800);
      await engineProxy.cut();
      await sleep(2500);
      await engineProxy.restore();
      const r = await run;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /retry/);
      await assertIndexMatchesDatabase(c);
    });

    it('engine down past the budget: exit code 3, acknowledged work kept, the rest still pending', async () => {
      await touchAll();
      const env = { ...c.env, ELASTICSEARCH_URL: engineProxy.url(engine.url) };
      const run = runCli(['start-etl', '--batch', '10', '--concurrency', '1', '--max-retry-time', '2'], env);
      await waitForProgress(800);
      await engineProxy.cut();
      const r = await run;
      await engineProxy.restore();
      assert.equal(r.code, ExitCode.connection, r.stderr);
      assert.match(r.stderr, /unreachable/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      const left = await assertNothingMarkedUnacknowledged();
      assert.ok(left > 0 && left < 800, `some but not all films still pending (${left})`);
      const s = JSON.parse((await runCli(['--json', 'status'], c.env)).stdout);
      assert.equal(s.lastRun.outcome, 'failed');
      assert.equal(s.lastRun.indexed, 800 - left, 'the failed run records what it did index');
      const again = await runCli(['start-etl'], c.env);
      assert.equal(again.code, 0, again.stderr);
      await assertIndexMatchesDatabase(c);
    });

    it('PostgreSQL cut mid-run and restored within the budget: the run succeeds', async () => {
      await touchAll();
      const env = { ...c.env, DATABASE_URL: pgProxy.url(c.url) };
      const run = runCli(['--json', 'start-etl', '--batch', '10', '--concurrency', '1', '--max-retry-time', '60'], env);
      await waitForProgress(800);
      await pgProxy.cut();
      await sleep(2500);
      await pgProxy.restore();
      const r = await run;
      assert.equal(r.code, 0, r.stderr);
      await assertIndexMatchesDatabase(c);
    });

    it('PostgreSQL down past the budget: exit code 3 and a clear message', async () => {
      await touchAll();
      const env = { ...c.env, DATABASE_URL: pgProxy.url(c.url) };
      const run = runCli(['--json', 'start-etl', '--batch', '10', '--concurrency', '1', '--max-retry-time', '2'], env);
      await waitForProgress(800);
      await pgProxy.cut();
      const r = await run;
      await pgProxy.restore();
      assert.equal(r.code, ExitCode.connection, r.stderr);
      assert.match(r.stderr, /PostgreSQL unavailable/);
      // knex reports lost pooled connections itself ("Connection Error: …"); never on stdout, where only the --json error object goes.
      assert.deepEqual(Object.keys(JSON.parse(r.stdout)), ['error'], r.stdout);
      await assertNothingMarkedUnacknowledged();
      const again = await runCli(['start-etl'], c.env);
      assert.equal(again.code, 0, again.stderr);
      await assertIndexMatchesDatabase(c);
    });

    it('a document the engine rejects aborts the build and names the film; nothing else changes', async () => {
      // The engine's own film mapping (stemmer-free on Elasticsearch), with one field made to conflict.
      const mapping = JSON.parse(readFileSync(engine.mappingFile, 'utf8'));
      mapping.mappings.properties.title = { type: 'integer' };
      const file = join(mkdtempSync(join(tmpdir(), 'movies-')), 'conflict.json');
      writeFileSync(file, JSON.stringify(mapping));
      const env = { ...c.env, MOVIES_INDEX: `${c.index}_conflict` };
      const pendingBefore = await pendingCount();
      // init-es fills the new index with the same loader as start-etl.
      const r = await runCli(['init-es', '--mapping', file], env);
      assert.equal(r.code, ExitCode.engineRejected, r.stderr);
      assert.match(r.stderr, /rejected film [0-9a-f-]{36}/);
      assert.match(r.stderr, /mapper_parsing_exception|document_parsing_exception/);
      assert.equal((await fetch(`${engine.url}/${c.index}_conflict`)).status, 404, 'the failed build left no alias');
      const leftovers = (await (await fetch(`${engine.url}/_cat/indices/${c.index}_conflict_*?format=json&h=index`)).json()) as unknown[];
      assert.deepEqual(leftovers, [], 'and no index');
      assert.equal(await pendingCount(), pendingBefore, "the live target's pending films are untouched");
      await deleteIndex(engine.url, `${c.index}_conflict`);
      assert.equal((await runCli(['start-etl'], c.env)).code, 0);
    });
  });
}
