import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { aliasCatalogue } from '../helpers/alias-catalogue.js';
import { ENGINES } from '../helpers/engines.js';
import { Proxy } from '../helpers/proxy.js';
import { freePort } from '../helpers/watch.js';
import { ExitCode } from '../../src/core/errors.js';

/*
 * `status` is what monitoring calls: with a server down it answers within its own bound
 * (status --timeout, env MOVIES_STATUS_TIMEOUT, default 5 s), not the retry budget (60 s), and
 * still prints the database side when the engine is the one down.
 */
const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;

describe('status: its own short bound on each server', () => {
  let c: Awaited<ReturnType<typeof aliasCatalogue>>;
  // Accepts connections and never answers a byte: a frozen engine or network.
  const frozenEngine = Proxy.forUrl(engine.url);
  let genres = 0;
  before(async () => {
    c = await aliasCatalogue(engine, { name: 'statusbound', films: 20 });
    genres = Number((await c.db.raw<{ rows: Array<{ n: number }> }>('SELECT count(*)::int AS n FROM content.genre')).rows[0]!.n);
    await frozenEngine.start();
    frozenEngine.freeze();
  });
  after(async () => {
    await frozenEngine.stop();
    await c?.cleanup();
  });

  const timed = async (args: string[], env: Record<string, string>) => {
    const started = Date.now();
    const r = await c.cli(args, env);
    return { ...r, seconds: (Date.now() - started) / 1000 };
  };

  it('an engine that never answers: ends within the default bound, with the database figures', async () => {
    const r = await timed(['--json', 'status'], { ELASTICSEARCH_URL: frozenEngine.url(engine.url) });
    assert.equal(r.code, ExitCode.connection, r.stderr);
    assert.ok(r.seconds < 15, `status took ${r.seconds} s with the engine frozen (the retry budget is 60 s)`);
    const s = JSON.parse(r.stdout);
    assert.equal(s.health, 'unreachable');
    assert.equal(s.genres, genres, 'the database side is reported');
    assert.equal(s.pending, 0);
    assert.equal(s.error.exit, ExitCode.connection);
    assert.match(s.engine.error, /cannot reach|timeout|unreachable/i);
    console.log(`frozen engine: status ended in ${r.seconds} s`);
  });

  it('a refused port, MOVIES_STATUS_TIMEOUT=2: ends within about 2 s and prints the report', async () => {
    const r = await timed(['status'], { ELASTICSEARCH_URL: `http://127.0.0.1:${await freePort()}`, MOVIES_STATUS_TIMEOUT: '2' });
    assert.equal(r.code, ExitCode.connection, r.stderr);
    assert.ok(r.seconds < 6, `status took ${r.seconds} s with a 2 s bound`);
    assert.match(r.stdout, new RegExp(`genres\\s+${genres}\\b`));
    assert.match(r.stdout, /health\s+unreachable/);
    console.log(`refused engine, 2 s bound: status ended in ${r.seconds} s`);
  });

  it('a database that never answers: exit 3 within the bound (--timeout 3)', async () => {
    const frozenDb = Proxy.forUrl(c.url);
    await frozenDb.start();
    frozenDb.freeze();
    try {
      const r = await timed(['status', '--timeout', '3'], { DATABASE_URL: frozenDb.url(c.url) });
      assert.equal(r.code, ExitCode.connection, r.stderr);
      assert.ok(r.seconds < 10, `status took ${r.seconds} s with a 3 s bound`);
      console.log(`frozen database, 3 s bound: status ended in ${r.seconds} s`);
    } finally {
      await frozenDb.stop();
    }
  });

  it('--timeout is checked like every integer option', async () => {
    const r = await c.cli(['status', '--timeout', '0']);
    assert.equal(r.code, ExitCode.usage);
    assert.match(r.stderr, /--timeout must be a whole number from 1 to 3,600/);
  });
});
