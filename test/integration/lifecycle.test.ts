import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runCli } from '../helpers/cli.js';
import { allDocs, deleteIndex, physicalIndexes } from '../helpers/engine.js';
import { copyCatalogue, freshDatabase, generatedCatalogue, legacyDatabase } from '../helpers/db.js';
import { truth } from '../helpers/truth.js';
import { serviceEnv } from '../helpers/env.js';
import { HttpFaultProxy } from '../helpers/http-proxy.js';
import { ENGINES, mappingArgs, type Engine } from '../helpers/engines.js';
import { assertIndexMatchesDatabase, engineCatalogue, pendingCount, runLockOf, type Catalogue } from '../helpers/catalogue.js';
import { ExitCode } from '../../src/core/errors.js';

const services = serviceEnv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A reader that counts the alias's documents every 50 ms, as a search front end would query it. */
function reader(base: string, alias: string) {
  const seen = { searches: 0, failed: 0, min: Number.POSITIVE_INFINITY, errors: [] as string[], failedAt: [] as number[] };
  let on = true;
  const loop = (async () => {
    while (on) {
      seen.searches++;
      try {
        const res = await fetch(`${base}/${alias}/_count`, { signal: AbortSignal.timeout(5_000) });
        const body = (await res.json()) as { count?: number };
        if (!res.ok || typeof body.count !== 'number') throw new Error(`HTTP ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
        seen.min = Math.min(seen.min, body.count);
      } catch (err) {
        seen.failed++;
        seen.failedAt.push(Date.now());
        if (seen.errors.length < 3) seen.errors.push((err as Error).message);
      }
      await sleep(50);
    }
  })();
  return { seen, stop: async () => ((on = false), await loop, seen) };
}

/** Edits film titles at about `perSecond`, one committed statement each, until stopped. */
function editor(url: string, perSecond: number) {
  const client = new pg.Client({ connectionString: url });
  let on = true;
  let edits = 0;
  const loop = (async () => {
    await client.connect();
    while (on) {
      await client.query(`UPDATE content.film_work SET title = 'edit ' || $1::text WHERE id = (SELECT id FROM content.film_work ORDER BY random() LIMIT 1)`, [edits]);
      edits++;
      await sleep(1000 / perSecond);
    }
    await client.end();
  })();
  return { stop: async () => ((on = false), await loop, edits) };
}

const documentCount = async (base: string, name: string) =>
  ((await (await fetch(`${base}/${name}/_count`)).json()) as { count: number }).count;

async function json(args: string[], env: Record<string, string>) {
  const r = await runCli(['--json', ...args], env);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}



for (const engine of ENGINES) {
  describe(`index lifecycle: aliases, rebuilds aside, rollback (${engine.name})`, () => {
    let c: Catalogue;
    before(async () => {
      c = await engineCatalogue(engine, { films: 1500, seed: 10, name: 'life' });
    });
    after(async () => c?.cleanup());

    it('the index name is an alias onto a concrete index that init-es created', async () => {
      const [physical] = await physicalIndexes(c.engineUrl, c.index);
      assert.match(physical ?? '', new RegExp(`^${c.index}_\\d{8}t\\d{9}z$`));
    });

    it('init-es rebuilds aside while films are edited and start-etl runs: no failed search, nothing lost, alias moved', async () => {
      const films = Number((await c.db.raw('SELECT count(*)::int AS n FROM content.film_work')).rows[0].n);
      const [before] = await physicalIndexes(c.engineUrl, c.index);
      const read = reader(c.engineUrl, c.index);
      const edit = editor(c.url, 20);
      // A transaction open across the new target's registration: its edit must reach the new index too.
      const old = new pg.Client({ connectionString: c.url });
      await old.connect();
      await old.query('BEGIN');
      await old.query(`UPDATE content.film_work SET title = 'held open' WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1)`);
      const rebuild = runCli(['--json', 'init-es', '--batch', '50', '--concurrency', '1', ...mappingArgs(engine)], c.env);
      let etlRuns = 0;
      let rebuilding = true;
      void rebuild.then(() => (rebuilding = false));
      const cron = (async () => {
        while (rebuilding) {
          const r = await runCli(['start-etl', '--batch', '50'], c.env);
          // While init-es moves the alias it holds the alias's run lock: cron's run exits 6 then.
          if (r.code !== ExitCode.locked) assert.equal(r.code, 0, r.stderr);
          etlRuns += r.code === 0 ? 1 : 0;
          await sleep(300);
        }
      })();
      // Committed well after the new target is registered: a build that did not wait for this
      // older transaction would read the film before the commit and never hear of the edit.
      while (!(await c.db('movies.etl_target').where({ alias: c.index, state: 'building' }).first())) await sleep(10);
      await sleep(2_000);
      await old.query('COMMIT');
      await old.end();
      const r = await rebuild;
      await cron;
      const edits = await edit.stop();
      const seen = await read.stop();
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout);
      assert.deepEqual(await physicalIndexes(c.engineUrl, c.index), [result.physical], 'the alias points to the new index');
      assert.equal(result.previous, before);
      assert.equal(seen.failed, 0, `failed searches: ${seen.errors.join('; ')}`);
      assert.ok(seen.min >= films, `never fewer documents than films (${seen.min} < ${films})`);
      assert.ok(edits > 20 && etlRuns > 0, `${edits} edits, ${etlRuns} start-etl runs`);
      const last = await runCli(['start-etl'], c.env);
      assert.equal(last.code, 0, last.stderr);
      await assertIndexMatchesDatabase(c, 'after the swap:');
      console.log(`${engine.name}: rebuild ${result.seconds.toFixed(1)} s, ${seen.searches} searches, 0 failed, min ${seen.min}/${films}, ${edits} edits, ${etlRuns} start-etl runs`);
    });

    it('a mapping the engine rejects leaves the alias, its index and its documents as they were', async () => {
      const [physical] = await physicalIndexes(c.engineUrl, c.index);
      const count = await documentCount(c.engineUrl, c.index);
      const file = join(mkdtempSync(join(tmpdir(), 'movies-')), 'bad.json');
      writeFileSync(file, JSON.stringify({ mappings: { properties: { title: { type: 'no_such_type' } } } }));
      const r = await runCli(['init-es', '--mapping', file], c.env);
      assert.equal(r.code, ExitCode.engineRejected, r.stderr);
      assert.match(r.stderr, /no_such_type/);
      assert.deepEqual(await physicalIndexes(c.engineUrl, c.index), [physical]);
      assert.equal(await documentCount(c.engineUrl, c.index), count);
      const targets = (await json(['targets'], c.env)).targets;
      assert.deepEqual(targets.filter((t: { state: string }) => t.state === 'building'), [], 'no target left building');
    });

    it('a rebuild killed with SIGKILL at three moments leaves the old index serving; the next one cleans up and succeeds', async () => {
      const [physical] = await physicalIndexes(c.engineUrl, c.index);
      const count = await documentCount(c.engineUrl, c.index);
      const films = Number((await c.db.raw('SELECT count(*)::int AS n FROM content.film_work')).rows[0].n);
      const building = async () =>
        (await c.db('movies.etl_target').where({ alias: c.index, state: 'building' }).orderBy('id', 'desc').first()) as { id: number } | undefined;
      const pendingFor = async (id: number) =>
        Number((await c.db.raw('SELECT count(*)::int AS n FROM movies.film_work_change WHERE target_id = ?', [id])).rows[0].n);
      const moments: Array<{ name: string; holdRunLock?: boolean; ready(): Promise<boolean> }> = [
        { name: 'just registered', ready: async () => (await building()) !== undefined },
        {
          name: 'mid-fill',
          ready: async () => {
            const b = await building();
            const left = b ? await pendingFor(b.id) : films;
            return left > 0 && left < films;
          },
        },
        {
          // A start-etl holding the alias's run lock keeps the finished build waiting to swap.
          name: 'built, waiting to move the alias',
          holdRunLock: true,
          ready: async () => {
            const b = await building();
            return b !== undefined && (await pendingFor(b.id)) === 0;
          },
        },
      ];
      for (const m of moments) {
        const holder = new pg.Client({ connectionString: c.url });
        await holder.connect();
        if (m.holdRunLock) await holder.query('SELECT pg_advisory_lock($1::bigint)', [(await runLockOf(c)).key]);
        const run = runCli(['init-es', '--batch', '5', '--concurrency', '1', ...mappingArgs(engine)], c.env);
        let exited = false;
        void run.then(() => (exited = true));
        while (!exited && !(await m.ready())) await sleep(10);
        if (m.holdRunLock) await sleep(300);
        if (exited) assert.fail(`${m.name}: init-es ended before the moment: ${(await run).stderr}`);
        run.kill('SIGKILL');
        assert.equal((await run).signal, 'SIGKILL', `${m.name}: killed`);
        await holder.end();
        assert.deepEqual(await physicalIndexes(c.engineUrl, c.index), [physical], `killed ${m.name}: alias unchanged`);
        assert.equal(await documentCount(c.engineUrl, c.index), count, `killed ${m.name}: searches see the same documents`);
      }
      // The old index still receives changes while a build lies dead.
      await c.db('content.film_work').update({ title: c.db.raw("title || ' (after kills)'") }).whereIn('id', c.db('content.film_work').select('id').limit(5));
      assert.equal((await runCli(['start-etl'], c.env)).code, 0);
      await assertIndexMatchesDatabase(c, 'old index after the kills:');
      const r = await json(['init-es', '--keep', '0', ...mappingArgs(engine)], c.env);
      assert.equal(r.previous, physical);
      const leftovers = (await (await fetch(`${c.engineUrl}/_cat/indices/${c.index}_*?format=json&h=index`)).json()) as Array<{ index: string }>;
      assert.deepEqual(leftovers.map((x) => x.index), [r.physical], 'dead builds and the previous index (--keep 0) are gone');
      assert.deepEqual((await json(['targets'], c.env)).targets.map((t: { physical: string }) => t.physical), [r.physical]);
      await assertIndexMatchesDatabase(c, 'after the next rebuild:');
    });

    it('SIGTERM or an engine outage during a rebuild: the alias stays, the new index is removed, start-etl still serves the old one', async () => {
      const [physical] = await physicalIndexes(c.engineUrl, c.index);
      const count = await documentCount(c.engineUrl, c.index);
      const building = async () => (await c.db('movies.etl_target').where({ alias: c.index, state: 'building' }).first()) as { id: number } | undefined;
      const term = runCli(['init-es', '--batch', '5', '--concurrency', '1', ...mappingArgs(engine)], c.env);
      while (!(await building())) await sleep(10);
      await sleep(300);
      const stopped = Date.now();
      term.kill('SIGTERM');
      const t = await term;
      assert.equal(t.code, ExitCode.interrupted, t.stderr);
      assert.ok(Date.now() - stopped < 10_000, `exited ${Date.now() - stopped} ms after SIGTERM`);

      // Bulk requests answered 503 from the start of the fill: past the budget, exit 3.
      const proxy = new HttpFaultProxy(c.engineUrl);
      await proxy.start();
      try {
        proxy.fault = (req, forward) => (req.path.startsWith('/_bulk') ? { status: 503, body: '{"error":"unavailable"}' } : forward());
        const out = await runCli(['init-es', '--max-retry-time', '2', ...mappingArgs(engine)], { ...c.env, ELASTICSEARCH_URL: proxy.url() });
        assert.equal(out.code, ExitCode.connection, out.stderr);
      } finally {
        await proxy.stop();
      }
      assert.deepEqual(await physicalIndexes(c.engineUrl, c.index), [physical], 'alias unchanged');
      assert.equal(await documentCount(c.engineUrl, c.index), count, 'same documents');
      assert.equal(await building(), undefined, 'no build left behind');
      const leftovers = (await (await fetch(`${c.engineUrl}/_cat/indices/${c.index}_*?format=json&h=index`)).json()) as Array<{ index: string }>;
      // Names sort by creation time: only the live index and older kept ones remain.
      assert.ok(leftovers.every((x) => x.index <= physical!), `no newer index left: ${JSON.stringify(leftovers)}`);
      await c.db('content.film_work').update({ title: c.db.raw("title || ' (after the failed builds)'") }).whereIn('id', c.db('content.film_work').select('id').limit(3));
      assert.equal((await json(['start-etl'], c.env)).indexed, 3);
      await assertIndexMatchesDatabase(c, 'the old index after the failed builds:');
    });

    it('the index deleted behind the alias during a run: exit 8, nothing auto-created, films stay pending; init-es converges', async () => {
      await c.db('content.film_work').update({ description: c.db.raw("coalesce(description, '') || '.'") });
      const [physical] = await physicalIndexes(c.engineUrl, c.index);
      const touched = await pendingCount(c);
      const run = runCli(['start-etl', '--batch', '10', '--concurrency', '1'], c.env);
      // Mid-run: once the first pages are marked.
      while ((await pendingCount(c)) >= touched) await sleep(20);
      await fetch(`${c.engineUrl}/${physical}`, { method: 'DELETE' });
      const r = await run;
      assert.equal(r.code, ExitCode.indexMissing, r.stderr);
      assert.match(r.stderr, /deleted during the run|does not exist|no longer leads/);
      assert.equal((await fetch(`${c.engineUrl}/${c.index}`)).status, 404, 'no index was created by the writes');
      assert.ok((await pendingCount(c)) > 0, 'films stay pending');
      const again = await runCli(['start-etl'], c.env);
      assert.equal(again.code, ExitCode.indexMissing, again.stderr);
      await json(['init-es', ...mappingArgs(engine)], c.env);
      await json(['start-etl'], c.env);
      await assertIndexMatchesDatabase(c, 'after init-es:');
    });

    it('rollback after a rebuild with a changed mapping restores the previous index within a second; later runs keep it in step', async () => {
      const [previous] = await physicalIndexes(c.engineUrl, c.index);
      const changed = JSON.parse(readFileSync(engine.mappingFile, 'utf8'));
      changed.mappings.properties.rebuild_marker = { type: 'keyword' };
      const file = join(mkdtempSync(join(tmpdir(), 'movies-')), 'changed.json');
      writeFileSync(file, JSON.stringify(changed));
      const built = await json(['init-es', '--mapping', file], c.env);
      const mappingOf = async (index: string) => JSON.stringify(await (await fetch(`${c.engineUrl}/${index}/_mapping`)).json());
      assert.match(await mappingOf(built.physical), /rebuild_marker/);
      await c.db('content.film_work').update({ title: c.db.raw("title || ' (after rebuild)'") }).whereIn('id', c.db('content.film_work').select('id').limit(10));
      await json(['start-etl'], c.env);
      const back = await json(['rollback'], c.env);
      assert.ok(back.seconds < 1, `rollback took ${back.seconds} s`);
      assert.equal(back.physical, previous);
      assert.deepEqual(await physicalIndexes(c.engineUrl, c.index), [previous]);
      assert.doesNotMatch(await mappingOf(c.index), /rebuild_marker/, "the previous mapping's index serves");
      assert.equal(back.pending, 10, 'the 10 edits made since are pending for it');
      await json(['start-etl'], c.env);
      await assertIndexMatchesDatabase(c, 'after rollback and start-etl:');
      const forward = await json(['rollback'], c.env);
      assert.equal(forward.physical, built.physical, 'rolling back again returns to the rebuilt index');
      await json(['start-etl'], c.env);
      await assertIndexMatchesDatabase(c, 'after rolling forward:');
    });
  });
}

for (const engine of ENGINES) {
  describe(`upgrade from an earlier version's concrete index (${engine.name})`, () => {
    it('migration 005 keeps its pending films, start-etl claims it, init-es turns it into an alias without a failed search', async () => {
      // The earlier version: its migrations up to 004 (before targets), its catalogue filled.
      const h = await legacyDatabase(services.DATABASE_URL, '004_genre_person_queues');
      const index = `movies_legacy_${engine.name}_${process.pid}`;
      const env = { DATABASE_URL: h.url, ELASTICSEARCH_URL: engine.url, MOVIES_INDEX: index };
      try {
        await copyCatalogue(await generatedCatalogue(300, 31), h.url);
        await h.db.raw('TRUNCATE content.film_work_change, content.genre_change, content.person_change');
        const mapping = readFileSync(engine.mappingFile, 'utf8');
        assert.ok((await fetch(`${engine.url}/${index}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: mapping })).ok);
        const docs = [...(await truth(h.db)).values()];
        const body = docs.map((d) => `${JSON.stringify({ index: { _index: index, _id: d.id } })}\n${JSON.stringify(d)}\n`).join('');
        const bulk = await fetch(`${engine.url}/_bulk?refresh=true`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
        assert.equal(((await bulk.json()) as { errors: boolean }).errors, false);
        await h.db('content.etl_run').insert({ index_name: index, outcome: 'success', finished_at: h.db.fn.now() });
        await h.db('content.film_work').update({ title: h.db.raw("title || ' (before the upgrade)'") }).whereIn('id', h.db('content.film_work').select('id').orderBy('id').limit(10));
        assert.equal(Number((await h.db('content.film_work_change').count('* as n'))[0]!.n), 10);

        await json(['migrate'], env);
        const status = await runCli(['--json', 'status'], env);
        assert.equal(JSON.parse(status.stdout).pending, 10, `the 10 films stay pending across the migration: ${status.stdout}`);
        const etl = await runCli(['--json', 'start-etl'], env);
        assert.equal(etl.code, 0, etl.stderr);
        assert.equal(JSON.parse(etl.stdout).indexed, 10);
        assert.match(etl.stderr, /concrete index created by an earlier version/);
        const c = { db: h.db, engineUrl: engine.url, index } as Catalogue;
        await assertIndexMatchesDatabase(c, 'the claimed concrete index:');

        const read = reader(engine.url, index);
        const converted = await json(['init-es', ...mappingArgs(engine)], env);
        const seen = await read.stop();
        // The concrete index must go in the call that adds the alias of its name, and a search
        // running on it at that instant fails on every engine (503, all shards failed; measured
        // outside movies: 22 to 236 of 2,111 to 5,521 back-to-back reads over 20 swaps). So one
        // instant of failed searches is allowed here, never more.
        assert.ok(seen.failed <= 3, `at most the searches in flight at the swap fail: ${seen.failed} (${seen.errors.join('; ')})`);
        if (seen.failedAt.length > 1) assert.ok(seen.failedAt.at(-1)! - seen.failedAt[0]! < 1_000, 'failed searches fall in one instant');
        assert.ok(seen.min >= docs.length, `never fewer documents than films (${seen.min})`);
        console.log(`${engine.name}: conversion: ${seen.searches} searches, ${seen.failed} failed at the swap`);
        assert.equal(converted.previous, index);
        assert.deepEqual(await physicalIndexes(engine.url, index), [converted.physical], 'the name is now an alias');
        // The genre and person queues of that version stay unclaimed until their indexes are built (or dropped).
        const targets = (await json(['targets'], env)).targets.filter((t: { indexName: string }) => t.indexName === 'movies');
        assert.deepEqual(targets.map((t: { physical: string; state: string }) => [t.physical, t.state]), [[converted.physical, 'live']]);
        assert.equal((await allDocs(engine.url, index)).size, docs.length);
        await assertIndexMatchesDatabase(c, 'after the conversion:');
      } finally {
        await deleteIndex(engine.url, index);
        await h.drop();
      }
    });
  });
}

const bothEngines = ENGINES.some((e) => e.name === 'opensearch') && ENGINES.some((e) => e.name === 'elasticsearch');
describe('one database, two targets: OpenSearch and Elasticsearch kept in step independently', { skip: bothEngines ? false : 'needs both engines (MOVIES_TEST_ENGINES selects one)' }, () => {
  it('a run against one engine leaves the other its own pending films; status and targets show each; a dropped target is forgotten', async () => {
    const h = await freshDatabase(services.DATABASE_URL);
    const index = `movies_two_${process.pid}`;
    const envOf = (e: Engine) => ({ DATABASE_URL: h.url, ELASTICSEARCH_URL: e.url, MOVIES_INDEX: index });
    const catOf = (e: Engine) => ({ db: h.db, engineUrl: e.url, index }) as Catalogue;
    const [os, es] = [ENGINES.find((e) => e.name === 'opensearch')!, ENGINES.find((e) => e.name === 'elasticsearch')!];
    try {
      const file = join(mkdtempSync(join(tmpdir(), 'movies-')), 'catalogue.json');
      for (const args of [['generate', '--films', '200', '--seed', '41', '--out', file], ['loaddata', file]]) {
        assert.equal((await runCli(args, envOf(os))).code, 0);
      }
      for (const e of [os, es]) await json(['init-es', ...mappingArgs(e)], envOf(e));
      const edited = (await h.db('content.film_work').select('id').orderBy('id').limit(10)).map((r) => r.id as string);
      const before = await allDocs(es.url, index);
      await h.db('content.film_work').update({ title: h.db.raw("title || ' (edited)'") }).whereIn('id', edited);

      assert.equal((await json(['start-etl'], envOf(os))).indexed, 10);
      await assertIndexMatchesDatabase(catOf(os), 'OpenSearch after its run:');
      const after = await allDocs(es.url, index);
      for (const id of edited) assert.deepEqual(after.get(id)!.source, before.get(id)!.source, `Elasticsearch still has the old ${id}`);
      const [osStatus, esStatus] = [await json(['status'], envOf(os)), await json(['status'], envOf(es))];
      assert.deepEqual([osStatus.pending, esStatus.pending], [0, 10]);
      assert.equal(esStatus.targets.length, 2, 'status lists both targets');
      const listed = (await json(['targets'], envOf(os))).targets;
      assert.deepEqual(
        listed.map((t: { engine: { kind: string }; pending: number; state: string }) => [t.engine.kind, t.state, t.pending]).sort(),
        [['elasticsearch', 'live', 10], ['opensearch', 'live', 0]],
      );

      assert.equal((await json(['start-etl'], envOf(es))).indexed, 10);
      await assertIndexMatchesDatabase(catOf(es), 'Elasticsearch after its run:');
      await assertIndexMatchesDatabase(catOf(os), 'OpenSearch, untouched by it:');

      const esTarget = listed.find((t: { engine: { kind: string } }) => t.engine.kind === 'elasticsearch');
      await json(['targets', 'drop', '--yes', String(esTarget.id)], envOf(os));
      await h.db('content.film_work').update({ title: h.db.raw("title || '!'") }).whereIn('id', edited);
      assert.deepEqual((await json(['targets'], envOf(os))).targets.map((t: { pending: number }) => t.pending), [10], 'changes are queued for the remaining target only');
      const gone = await runCli(['start-etl'], envOf(es));
      assert.equal(gone.code, ExitCode.indexMissing, gone.stderr);
      assert.match(gone.stderr, /not a target of this database/);
    } finally {
      for (const e of [os, es]) await deleteIndex(e.url, index);
      await h.drop();
    }
  });
});
