import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { root } from '../helpers/env.js';
import { ENGINES } from '../helpers/engines.js';
import { engineCatalogue, type Catalogue } from '../helpers/catalogue.js';
import { freePort, sleep, titleInIndex, within } from '../helpers/watch.js';

/** One idle TCP connection that never sends a byte (a slowloris); resolves once connected, or after 3 s regardless. */
function idleConnection(port: number, open: Socket[]): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    open.push(s);
    const done = () => resolve();
    s.once('connect', done);
    s.once('error', done);
    s.once('close', done);
    setTimeout(done, 3_000).unref();
  });
}

// The engine is not the point: one is enough.
const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;

describe('the metrics endpoint cannot stop the ETL', () => {
  let c: Catalogue;
  let film: string;
  before(async () => {
    c = await engineCatalogue(engine, { films: 50, seed: 63, name: 'slowloris' });
    film = (await c.db('content.film_work').orderBy('id').first('id')).id;
  });
  after(async () => c?.cleanup());

  it('1,100 idle connections to /metrics under `ulimit -n 1024`: an edit is still searchable at once, no failure counted', async () => {
    const port = await freePort();
    // The default soft limit of open files on many systems; the watch alone uses a few dozen.
    const child = spawn('bash', ['-c', `ulimit -n 1024; exec "${process.execPath}" "${root}bin/movies" start-etl --watch --poll-interval 1 --metrics-port ${port}`], {
      env: { PATH: process.env.PATH ?? '', ...c.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const health = async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
      } catch {
        return 0;
      }
    };
    const open: Socket[] = [];
    try {
      await within(15_000, `healthy after the first cycle (${stderr})`, async () => (await health()) === 200);
      await Promise.all(Array.from({ length: 1_100 }, () => idleConnection(port, open)));
      await sleep(500);
      await c.db('content.film_work').where({ id: film }).update({ title: 'Edited under a slowloris' });
      const ms = await within(5_000, `the edit is searchable (watch log: ${stderr.slice(-600)})`, async () => (await titleInIndex(c, film)) === 'Edited under a slowloris');
      console.log(`edit searchable ${ms} ms after its commit, ${open.filter((s) => s.readyState === 'open').length} of 1,100 idle connections still open`);
      assert.doesNotMatch(stderr, /cycle failed/, 'no cycle failed');
      for (const s of open) s.destroy();
      await within(5_000, 'the endpoint answers again once they are gone', async () => (await health()) === 200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.doesNotMatch(metrics, /^movies_failures_total\{[^}]*\} [1-9]/m, 'no failure counted');
      // Idle clients do not hold the watch up when it stops either.
      await Promise.all(Array.from({ length: 50 }, () => idleConnection(port, open)));
      const stopping = Date.now();
      child.kill('SIGTERM');
      assert.equal(await exited, 0, `SIGTERM ends the watch with 0: ${stderr.slice(-600)}`);
      assert.ok(Date.now() - stopping < 10_000, `stopped in ${Date.now() - stopping} ms with idle clients connected`);
    } finally {
      for (const s of open) s.destroy();
      if (child.exitCode === null) child.kill('SIGTERM');
      assert.equal(await exited, 0, `SIGTERM ends the watch with 0: ${stderr.slice(-600)}`);
    }
  });

  it('an idle connection is closed by the endpoint; a request that never ends its headers is cut off', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [`${root}bin/movies`, 'start-etl', '--watch', '--poll-interval', '60', '--metrics-port', String(port)], {
      env: { PATH: process.env.PATH ?? '', ...c.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      await within(15_000, 'listening', async () => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/healthz`)).status > 0;
        } catch {
          return false;
        }
      });
      const closedAfter = (send?: string) =>
        new Promise<number>((resolve) => {
          const t0 = Date.now();
          const s = connect(port, '127.0.0.1', () => (send ? s.write(send) : undefined));
          s.on('error', () => undefined);
          s.on('close', () => resolve(Date.now() - t0));
          s.resume();
          setTimeout(() => s.destroy(), 30_000).unref();
        });
      const [idle, partial] = await Promise.all([closedAfter(), closedAfter('GET /metrics HTTP/1.1\r\nHost: x\r\n')]);
      console.log(`idle connection closed after ${idle} ms, unfinished headers after ${partial} ms`);
      assert.ok(idle < 15_000, `an idle connection closed after ${idle} ms`);
      assert.ok(partial < 15_000, `unfinished headers closed after ${partial} ms`);
      // Beyond the connection bound, a new connection is closed at once instead of taking a descriptor.
      const many: Socket[] = [];
      await Promise.all(Array.from({ length: 100 }, () => idleConnection(port, many)));
      await sleep(300);
      const alive = many.filter((s) => !s.destroyed && s.readyState === 'open').length;
      for (const s of many) s.destroy();
      assert.ok(alive <= 64, `${alive} of 100 idle connections kept open (at most 64)`);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
