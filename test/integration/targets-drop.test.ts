import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runCli } from '../helpers/cli.js';
import { root, serviceEnv } from '../helpers/env.js';
import { allDocs, clusterOf, physicalIndexes } from '../helpers/engine.js';
import { indexedCatalogue, type Catalogue } from '../helpers/catalogue.js';
import { aliasLock, isLockHeld } from '../../src/db/lock.js';
import { ExitCode } from '../../src/core/errors.js';

const services = serviceEnv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Target {
  id: number;
  state: string;
  physical: string;
  pending: number;
}

/**
 * `movies targets drop` says what dropping means, refuses a target that a watch or a run holds
 * (exit 6), and asks first: on a terminal it waits for "y", elsewhere it needs --yes.
 */
describe('movies targets drop', () => {
  let c: Catalogue;
  let cluster: string;
  const targets = async (): Promise<Target[]> => {
    const r = await runCli(['--json', 'targets'], c.env);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { targets: Array<Target & { indexName: string }> }).targets.filter((t) => t.indexName === 'movies');
  };
  const live = async () => (await targets()).find((t) => t.state === 'live')!;
  const edit = () => c.db('content.film_work').update({ title: c.db.raw("title || '.'") }).whereIn('id', c.db('content.film_work').select('id').orderBy('id').limit(5));

  before(async () => {
    c = await indexedCatalogue({ databaseUrl: services.DATABASE_URL, engineUrl: services.OPENSEARCH_URL, films: 60, seed: 73, index: `movies_drop_${process.pid}` });
    cluster = await clusterOf(c.engineUrl);
  });
  after(async () => {
    await c?.cleanup();
  });

  it('without a terminal and without --yes: a usage error (exit 2) saying to pass --yes, and nothing is dropped', async () => {
    const t = await live();
    const r = await runCli(['targets', 'drop', String(t.id)], c.env);
    assert.equal(r.code, ExitCode.usage, r.stderr);
    assert.match(r.stderr, /--yes/);
    assert.deepEqual((await targets()).map((x) => x.id), [t.id], 'the target is still there');
  });

  it('the live target a watch keeps is refused (exit 6), --yes or not, and the watch goes on', async () => {
    const t = await live();
    const watchLock = aliasLock('watch', cluster, c.index);
    const watch = runCli(['start-etl', '--watch', '--poll-interval', '1'], c.env);
    try {
      for (let i = 0; i < 200 && !(await isLockHeld(c.db, watchLock)); i++) await sleep(50);
      assert.ok(await isLockHeld(c.db, watchLock), 'the watch is running');
      const r = await runCli(['targets', 'drop', '--yes', String(t.id)], c.env);
      assert.equal(r.code, ExitCode.locked, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /start-etl --watch/);
      assert.match(r.stderr, new RegExp(`target ${t.id} was not dropped`));
      assert.deepEqual((await targets()).map((x) => x.id), [t.id], 'the target is still there');
      // Still in step: a change is indexed by the watch.
      await edit();
      for (let i = 0; i < 100 && (await live()).pending > 0; i++) await sleep(100);
      assert.equal((await live()).pending, 0, 'the watch indexed the change');
    } finally {
      watch.kill('SIGTERM');
      assert.equal((await watch).code, 0);
    }
  });

  it('a target whose alias a run is writing to is refused (exit 6)', async () => {
    const t = await live();
    const holder = new pg.Client({ connectionString: c.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [aliasLock('run', cluster, c.index).key]);
      const r = await runCli(['targets', 'drop', '--yes', String(t.id)], c.env);
      assert.equal(r.code, ExitCode.locked, `${r.stdout}\n${r.stderr}`);
      assert.deepEqual((await targets()).map((x) => x.id), [t.id], 'the target is still there');
    } finally {
      await holder.end();
    }
  });

  it('on a terminal it says what dropping means and asks; anything but "y" keeps the target', async () => {
    const t = await live();
    const r = await onTerminal(['targets', 'drop', String(t.id)], c.env, 'n');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /deletes its \d+ pending documents and stops queueing changes for it/);
    assert.match(r.out, /goes on serving .*no longer kept in step, until `movies init-es`/);
    assert.match(r.out, new RegExp(`Drop target ${t.id}\\? \\[y/N\\]`));
    assert.match(r.out, new RegExp(`target ${t.id} was not dropped`));
    assert.deepEqual((await targets()).map((x) => x.id), [t.id], 'the target is still there');
  });

  it('on a terminal, "y" drops it', async () => {
    // A kept target to drop: a rebuild keeps the previous index.
    assert.equal((await runCli(['init-es'], c.env)).code, 0);
    const kept = (await targets()).find((t) => t.state === 'kept')!;
    const r = await onTerminal(['targets', 'drop', String(kept.id)], c.env, 'y');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /`movies rollback` can no longer go back to it/);
    assert.match(r.out, new RegExp(`dropped target ${kept.id}`));
    assert.deepEqual((await targets()).map((x) => x.state), ['live']);
  });

  it('--yes drops an idle live target: its rows go, changes stop being queued, the alias goes on serving, status says why it is not kept in step', async () => {
    const t = await live();
    await edit();
    assert.equal((await live()).pending, 5);
    const r = await runCli(['targets', 'drop', '--yes', String(t.id)], c.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`dropped target ${t.id} .* and its 5 pending documents`));
    assert.match(r.stdout, /goes on serving .*no longer kept in step, until `movies init-es`/);
    assert.deepEqual(await targets(), []);
    assert.equal(Number((await c.db.raw('SELECT count(*)::int AS n FROM movies.film_work_change')).rows[0].n), 0, 'its rows went');
    await edit();
    assert.equal(Number((await c.db.raw('SELECT count(*)::int AS n FROM movies.film_work_change')).rows[0].n), 0, 'changes are not queued for it');
    assert.deepEqual(await physicalIndexes(c.engineUrl, c.index), [t.physical], 'the alias still serves the index');
    assert.equal((await allDocs(c.engineUrl, c.index)).size, 60);
    const s = await runCli(['status'], c.env);
    assert.equal(s.code, ExitCode.indexMissing, s.stderr);
    assert.match(s.stderr, /not a target of this database: nothing keeps the index it serves in step/);
    assert.doesNotMatch(s.stderr, /does not exist/);
    // The way back: init-es builds a new target behind the alias; the dropped index stays.
    const rebuilt = await runCli(['init-es'], c.env);
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.equal((await runCli(['status'], c.env)).code, 0);
    assert.deepEqual((await targets()).map((x) => x.state), ['live']);
    assert.equal((await fetch(`${c.engineUrl}/${t.physical}`, { method: 'HEAD' })).status, 200, 'the dropped index was left on the engine');
  });
});

/** Runs the CLI on a pseudo-terminal (script(1)), answers its question once it is asked, and returns all it printed. */
async function onTerminal(args: string[], env: Record<string, string>, answer: string): Promise<{ code: number | null; out: string }> {
  const cmd = `exec ${process.execPath} ${root}bin/movies ${args.join(' ')}`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env: { ...process.env, ...env, MOVIES_ONLY: 'movies', TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = new Promise<number | null>((resolve) => child.on('close', (x) => resolve(x)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  for (let i = 0; i < 300 && !out.includes('[y/N]'); i++) await sleep(50);
  child.stdin.write(`${answer}\n`);
  const done = { code: await code, out };
  clearTimeout(timer);
  return done;
}
