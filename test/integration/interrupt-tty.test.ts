import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { root, serviceEnv } from '../helpers/env.js';
import { HttpFaultProxy } from '../helpers/http-proxy.js';
import { indexedCatalogue, pendingCount, type Catalogue } from '../helpers/catalogue.js';

const services = serviceEnv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Ctrl-C on a real terminal: `script` gives the CLI a pseudo-terminal (so the spinner runs),
 * and the ETX byte written to it makes the terminal driver send SIGINT, as a keyboard does.
 */
describe('Ctrl-C on a terminal stops a run the same way as SIGINT without one', () => {
  let c: Catalogue;
  let engine: HttpFaultProxy;
  before(async () => {
    c = await indexedCatalogue({ databaseUrl: services.DATABASE_URL, engineUrl: services.OPENSEARCH_URL, films: 600, seed: 97, index: `movies_tty_${process.pid}` });
    engine = new HttpFaultProxy(services.OPENSEARCH_URL);
    // Slow bulk answers, so that the run is still going when Ctrl-C comes.
    engine.fault = async (_req, forward) => {
      await sleep(50);
      return forward();
    };
    await engine.start();
  });
  after(async () => {
    await engine?.stop();
    await c?.cleanup();
  });

  it('exit 130, the run recorded as interrupted, its marks counted', async () => {
    await c.db('content.film_work').update({ description: c.db.raw("description || '^'") });
    const env = { ...process.env, ...c.env, ELASTICSEARCH_URL: engine.url(), TERM: 'xterm', COLUMNS: '100' };
    delete (env as Record<string, string | undefined>).CI;
    const cmd = `stty cols 100; exec ${process.execPath} ${root}bin/movies start-etl --batch 10 --concurrency 1`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = new Promise<number | null>((resolve) => child.on('close', (c2) => resolve(c2)));
    const pending = () => pendingCount(c);
    for (let i = 0; i < 1000 && (await pending()) >= 600; i++) await sleep(20);
    await sleep(300);
    child.stdin.write('\x03');
    const t = Date.now();
    assert.equal(await code, 130, out);
    assert.ok(Date.now() - t < 8000, 'stopped within seconds');
    assert.match(out, /interrupted \(SIGINT\)/, 'the CLI handled the interrupt itself');
    const run = await c.db('movies.etl_run').orderBy('id', 'desc').first();
    assert.equal(run.outcome, 'interrupted');
    const left = await pending();
    assert.ok(left > 0 && left < 600, `some films left pending (${left})`);
    assert.equal(Number(run.indexed), 600 - left);
  });
});
