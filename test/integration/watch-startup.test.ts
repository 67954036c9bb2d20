import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { ENGINES } from '../helpers/engines.js';
import { Proxy } from '../helpers/proxy.js';
import { engineCatalogue, type Catalogue } from '../helpers/catalogue.js';
import { freePort, sleep, startWatch, titleInIndex, within } from '../helpers/watch.js';
import { ExitCode } from '../../src/core/errors.js';

/*
 * A watch started while a server is down (a reboot, a service manager starting everything at
 * once) stays up: /metrics and /healthz answer at once, /healthz 503 names the server it waits
 * for, and it connects by itself when the server is back, then indexes what changed meanwhile.
 * The servers are real; a TCP proxy in front of one refuses connections, then forwards them.
 * Mistakes in the configuration still end it at once. One engine: the engine is not the point.
 */
const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;

describe('a watch started while a server is down', () => {
  let c: Catalogue;
  let films: string[];
  before(async () => {
    c = await engineCatalogue(engine, { films: 40, seed: 91, name: 'watchstartup' });
    films = (await c.db('content.film_work').orderBy('id').pluck('id')) as string[];
  });
  after(async () => c?.cleanup());

  for (const down of ['engine', 'database'] as const) {
    it(`${down} down at start-up: /healthz 503 "${down} unreachable" at once, 200 when it is back, the changes made meanwhile indexed`, async () => {
      const proxy = Proxy.forUrl(down === 'engine' ? engine.url : c.url);
      await proxy.start();
      await proxy.cut();
      const env = down === 'engine' ? { ...c.env, ELASTICSEARCH_URL: proxy.url(engine.url) } : { ...c.env, DATABASE_URL: proxy.url(c.url) };
      const title = `Edited while the ${down} was down`;
      await c.db('content.film_work').where({ id: films[down === 'engine' ? 0 : 1] }).update({ title });
      const w = await startWatch(env, ['--poll-interval', '1', '--max-retry-time', '1']);
      try {
        const first = await w.healthz();
        assert.equal(first.status, 503, `the endpoint answers at once, unhealthy (${JSON.stringify(first)}; ${w.stderr})`);
        await within(5_000, async () => `the reason names the ${down} (${JSON.stringify(await w.healthz())})`, async () => (await w.healthz()).reason.startsWith(`${down} unreachable: `));
        assert.equal(await w.gauge('movies_healthy'), 0);
        // Longer than the retry budget: the watch does not give up.
        await sleep(2_000);
        assert.equal(w.child.exitCode, null, `still running (${w.stderr})`);
        assert.ok((await w.gauge('movies_failures_total{kind="outage"}'))! >= 2, 'each failed attempt counted');
        await proxy.restore();
        const ms = await within(20_000, async () => `healthy once the ${down} is back (${JSON.stringify(await w.healthz())}; ${w.stderr.slice(-600)})`, async () => (await w.health()) === 200);
        console.log(`${down}: /healthz 200 ${ms} ms after it came back`);
        await within(5_000, 'the change made while it was down is searchable', async () => (await titleInIndex(c, films[down === 'engine' ? 0 : 1]!)) === title);
        assert.match(w.stderr, new RegExp(`start-up: ${down} unreachable: .*next attempt in`));
      } finally {
        const r = await w.stop();
        await proxy.stop();
        assert.equal(r.code, 0, w.stderr);
      }
    });
  }

  it('SIGTERM while it waits for a server: exits 0 at once', async () => {
    const proxy = Proxy.forUrl(engine.url);
    await proxy.start();
    await proxy.cut();
    const w = await startWatch({ ...c.env, ELASTICSEARCH_URL: proxy.url(engine.url) }, ['--poll-interval', '1']);
    try {
      await within(5_000, 'waiting for the engine', async () => (await w.healthz()).reason.startsWith('engine unreachable'));
      const t0 = Date.now();
      const r = await w.stop();
      assert.equal(r.code, 0, w.stderr);
      assert.ok(Date.now() - t0 < 3_000, `stopped in ${Date.now() - t0} ms`);
    } finally {
      await w.stop();
      await proxy.stop();
    }
  });

  it('configuration mistakes still end it at once: a server that is not an engine (exit 2), a database that does not exist', async () => {
    const notAnEngine = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'));
    await new Promise<void>((r) => notAnEngine.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(notAnEngine.address() as { port: number }).port}`;
      const t0 = Date.now();
      const r = await runCli(['start-etl', '--watch', '--metrics-port', String(await freePort())], { ...c.env, ELASTICSEARCH_URL: url }, { timeoutMs: 20_000 });
      assert.equal(r.code, ExitCode.usage, r.stderr);
      assert.match(r.stderr, /does not look like Elasticsearch or OpenSearch/);
      assert.ok(Date.now() - t0 < 5_000, `in ${Date.now() - t0} ms`);
    } finally {
      notAnEngine.close();
    }
    const missing = new URL(c.url);
    missing.pathname = `/${missing.pathname.slice(1)}_missing`;
    const t0 = Date.now();
    const r = await runCli(['start-etl', '--watch', '--metrics-port', String(await freePort())], { ...c.env, DATABASE_URL: missing.toString() }, { timeoutMs: 20_000 });
    // PostgreSQL's refusal names the database; db/errors.ts decides the exit code, the watch does not wait.
    assert.ok(r.code === ExitCode.usage || r.code === ExitCode.connection, `${r.code}: ${r.stderr}`);
    assert.match(r.stderr, /does not exist/);
    assert.ok(Date.now() - t0 < 5_000, `in ${Date.now() - t0} ms`);
  });
});
