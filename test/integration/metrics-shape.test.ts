import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { root } from '../helpers/env.js';
import { ENGINES } from '../helpers/engines.js';
import { engineCatalogue, type Catalogue } from '../helpers/catalogue.js';
import { freePort, startWatch, within } from '../helpers/watch.js';
import { ExitCode } from '../../src/core/errors.js';
import { FAILURE_KINDS } from '../../src/watch/metrics.js';

/*
 * What the metrics endpoint is from the outside: where it listens (loopback unless told),
 * what a port it cannot have does (a usage error naming it), the names stock dashboards and the
 * shipped rules expect, every series there before its first event, and reads only.
 */
const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;
const version = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;
/** An address of this machine other than loopback, if it has one. */
const outside = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

describe('the metrics endpoint: address, names, series and methods', () => {
  let c: Catalogue;
  before(async () => {
    c = await engineCatalogue(engine, { films: 20, seed: 17, name: 'metricsshape' });
  });
  after(async () => c?.cleanup());

  it('standard process metrics, movies_build_info, every failure kind and index series at 0; GET and HEAD only; loopback by default', async () => {
    const w = await startWatch(c.env, ['--poll-interval', '1']);
    try {
      await within(15_000, () => `healthy (${w.stderr})`, async () => (await w.health()) === 200);
      const text = await w.metrics();
      for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
        assert.match(text, new RegExp(`^${name} `, 'm'), `${name} under its standard name`);
      }
      assert.doesNotMatch(text, /^movies_(process|nodejs)_/m, 'no renamed process metrics');
      assert.equal(await w.gauge(`movies_build_info{version="${version}",node="${process.version}",engine="${engine.name}"}`), 1, text.split('\n').filter((l) => l.startsWith('movies_build_info')).join('\n'));
      for (const kind of FAILURE_KINDS) assert.equal(await w.gauge(`movies_failures_total{kind="${kind}"}`), 0, `failures of kind ${kind} at 0`);
      for (const series of ['movies_documents_indexed_total', 'movies_documents_deleted_total', 'movies_pending_documents', 'movies_lag_seconds']) {
        assert.equal(await w.gauge(`${series}{index="movies"}`), 0, `${series} at 0`);
      }
      const port = w.child.spawnargs[w.child.spawnargs.indexOf('--metrics-port') + 1];
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`, { method });
        assert.equal(res.status, 405, method);
        assert.equal(res.headers.get('allow'), 'GET, HEAD');
      }
      const head = await fetch(`http://127.0.0.1:${port}/healthz`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), '');
      if (outside) {
        await assert.rejects(fetch(`http://${outside}:${port}/healthz`), 'not reachable on another interface by default');
      } else console.log('no address other than loopback: the default-host check is left out');
    } finally {
      assert.equal((await w.stop()).code, 0, w.stderr);
    }
  });

  it('--metrics-host 0.0.0.0 (here MOVIES_METRICS_HOST) listens on every interface', { skip: outside ? false : 'no address other than loopback' }, async () => {
    const w = await startWatch({ ...c.env, MOVIES_METRICS_HOST: '0.0.0.0' }, ['--poll-interval', '1']);
    try {
      const port = w.child.spawnargs[w.child.spawnargs.indexOf('--metrics-port') + 1];
      await within(15_000, () => `healthy from ${outside} (${w.stderr})`, async () => (await fetch(`http://${outside}:${port}/healthz`).then((r) => r.status, () => 0)) === 200);
    } finally {
      assert.equal((await w.stop()).code, 0, w.stderr);
    }
  });

  it('a port already taken, a host that cannot be bound: exit 2 at once, naming host:port; --metrics-host needs --watch', async () => {
    const taken = createServer();
    const port = await new Promise<number>((r) => taken.listen(0, '127.0.0.1', () => r((taken.address() as { port: number }).port)));
    try {
      const r = await runCli(['start-etl', '--watch', '--metrics-port', String(port)], c.env, { timeoutMs: 20_000 });
      assert.equal(r.code, ExitCode.usage, r.stderr);
      assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port}: the port is already in use`));
    } finally {
      taken.close();
    }
    const free = await freePort();
    for (const [host, why] of [['no-such-host.invalid', /does not resolve/], ['198.51.100.77', /no interface of this machine has that address/]] as const) {
      const r = await runCli(['start-etl', '--watch', '--metrics-port', String(free), '--metrics-host', host], c.env, { timeoutMs: 20_000 });
      assert.equal(r.code, ExitCode.usage, `${host}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`${host}:${free}`), r.stderr);
      assert.match(r.stderr, why);
    }
    const r = await runCli(['start-etl', '--metrics-host', '0.0.0.0'], c.env);
    assert.equal(r.code, ExitCode.usage, r.stderr);
    assert.match(r.stderr, /--metrics-host needs --watch/);
  });
});
