import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { root, serviceEnv } from '../helpers/env.js';
import { ENGINES } from '../helpers/engines.js';
import { Proxy } from '../helpers/proxy.js';
import { engineCatalogue, type Catalogue } from '../helpers/catalogue.js';
import { ExitCode } from '../../src/core/errors.js';
import { freePort, sleep } from '../helpers/watch.js';

/*
 * Issue 21, item 8: a PostgreSQL that stops answering or refuses connections is an outage, in a
 * watch's movies_failures_total as in a one-shot run's exit code; and an engine port Node's HTTP
 * client refuses to use is a mistake in the URL (exit 2), not an outage.
 */
const services = serviceEnv();
const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;
/** movies_failures_total by kind, as the watch's /metrics says them. */
async function failures(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^movies_failures_total\{kind="([a-z_]+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

async function until(ms: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(200);
  }
}

describe(`failure kinds: PostgreSQL frozen or gone during a watch (${engine.name})`, () => {
  let c: Catalogue;
  let proxy: Proxy;
  before(async () => {
    c = await engineCatalogue(engine, { films: 20, seed: 81, name: 'kinds' });
    proxy = Proxy.forUrl(c.url);
    await proxy.start();
  });
  after(async () => {
    await proxy?.stop();
    await c?.cleanup();
  });

  it('a frozen, then refused, PostgreSQL counts as kind "outage", never "internal"', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [`${root}bin/movies`, '--max-retry-time', '1', '--statement-timeout', '1', 'start-etl', '--watch', '--poll-interval', '1', '--metrics-port', String(port)],
      { env: { PATH: process.env.PATH ?? '', ...c.env, DATABASE_URL: proxy.url(c.url) }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise((r) => child.on('close', r));
    try {
      await until(15_000, 'the watch serves /metrics', async () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false));

      proxy.freeze();
      // Every kind has its series from the start, at 0.
      assert.deepEqual(Object.values(await failures(port)).filter((n) => n !== 0), [], 'no failure before the freeze');
      await until(25_000, 'a failed cycle is counted', async () => Object.values(await failures(port)).some((n) => n > 0));
      const frozen = await failures(port);
      assert.ok(frozen.outage! > 0 && !frozen.internal, `frozen PostgreSQL: ${JSON.stringify(frozen)}\n${stderr}`);

      await proxy.cut(); // connections dropped, new ones refused
      const before = frozen.outage!;
      await until(25_000, 'a cycle against the refused PostgreSQL is counted', async () => {
        const f = await failures(port);
        return (f.outage ?? 0) + (f.internal ?? 0) > before + 1;
      }).catch((err: Error) => assert.fail(`${err.message}\n${stderr}`));
      const refused = await failures(port);
      assert.ok(!refused.internal, `refused PostgreSQL: ${JSON.stringify(refused)}\n${stderr}`);
      assert.doesNotMatch(stderr, /cycle failed \(internal\)/);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await proxy.restore();
    }
  });
});

describe('failure kinds: a port Node refuses to connect to', () => {
  it('--es-url http://127.0.0.1:6000 exits 2 at once, saying the port is one Node refuses', async () => {
    const t0 = Date.now();
    const r = await runCli(['--es-url', 'http://127.0.0.1:6000', 'start-etl'], { DATABASE_URL: services.DATABASE_URL }, { timeoutMs: 30_000 });
    assert.equal(r.code, ExitCode.usage, `exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, /port 6000 is one Node\.js refuses to connect to/);
    assert.ok(Date.now() - t0 < 10_000, 'not retried as an outage');
  });

  it('ELASTICSEARCH_URL with port 10080 exits 2 naming the variable', async () => {
    const r = await runCli(['status'], { DATABASE_URL: services.DATABASE_URL, ELASTICSEARCH_URL: 'http://127.0.0.1:10080' }, { timeoutMs: 30_000 });
    assert.equal(r.code, ExitCode.usage, `exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, /ELASTICSEARCH_URL .*port 10080 is one Node\.js refuses/);
  });
});
