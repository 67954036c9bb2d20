import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { root } from '../helpers/env.js';
import { ENGINES, mappingArgs } from '../helpers/engines.js';
import { deleteIndex } from '../helpers/engine.js';
import { engineCatalogue, type Catalogue } from '../helpers/catalogue.js';
import { targetQueuesSql } from '../../src/db/queue-stats.js';
import { filmsIndex as filmsSpec } from '../../src/indexes/films/index.js';
import { freePort, sleep } from '../helpers/watch.js';

interface QueueTruth {
  rows: number;
  oldest: number;
}

/** Each target's queue as a direct SQL count reads it: rows and the age of its oldest change. */
async function queueTruth(c: Catalogue): Promise<Map<number, QueueTruth>> {
  const r = await c.db.raw(
    `SELECT t.id, count(q.film_work_id)::int AS rows, coalesce(extract(epoch FROM clock_timestamp() - min(q.changed_at)), 0)::float8 AS oldest
     FROM movies.etl_target t LEFT JOIN movies.film_work_change q ON q.target_id = t.id
     WHERE t.index_name = 'movies' GROUP BY t.id`,
  );
  return new Map((r.rows as Array<{ id: number; rows: number; oldest: number }>).map((x) => [Number(x.id), { rows: x.rows, oldest: x.oldest }]));
}

/** One statement editing these films: each becomes pending for every target of the index. */
async function editFilms(c: Catalogue, ids: string[], title: string): Promise<void> {
  await c.db('content.film_work').whereIn('id', ids).update({ title });
}

const opensearch = ENGINES.find((e) => e.name === 'opensearch');
const elasticsearch = ENGINES.find((e) => e.name === 'elasticsearch');

describe('each target of an index: its queue rows and oldest change, in status and /metrics', { skip: !opensearch || !elasticsearch ? 'needs both engines' : false }, () => {
  let c: Catalogue;
  let esEnv: Record<string, string>;
  let films: string[];
  before(async () => {
    c = await engineCatalogue(opensearch!, { films: 200, seed: 64, name: 'targetqueues' });
    esEnv = { ...c.env, ELASTICSEARCH_URL: elasticsearch!.url };
    // A second cluster (Elasticsearch) keeps the same index, then OpenSearch rebuilds: the first
    // OpenSearch index is kept. Three targets: OpenSearch kept, Elasticsearch live, OpenSearch live.
    for (const [args, env] of [
      [['init-es', ...mappingArgs(elasticsearch!)], esEnv],
      [['init-es', ...mappingArgs(opensearch!)], c.env],
    ] as const) {
      const r = await runCli([...args], env);
      assert.equal(r.code, 0, r.stderr);
    }
    films = (await c.db('content.film_work').orderBy('id').pluck('id')) as string[];
  });
  after(async () => {
    await deleteIndex(elasticsearch!.url, c.index);
    await c?.cleanup();
  });

  it('status --json and the text report every target, each with its rows and oldest change, as SQL counts them', async () => {
    await editFilms(c, films.slice(0, 40), 'Churn one');
    await sleep(1_500);
    await editFilms(c, films.slice(40, 60), 'Churn two');
    // Elasticsearch catches up; the OpenSearch targets keep what is pending.
    assert.equal((await runCli(['start-etl'], esEnv)).code, 0);
    await editFilms(c, films.slice(60, 70), 'Churn three');

    const r = await runCli(['--json', 'status'], c.env);
    assert.equal(r.code, 0, r.stderr);
    const truth = await queueTruth(c);
    const targets = (JSON.parse(r.stdout) as { targets: Array<{ id: number; state: string; pending: number; oldestChangeSeconds: number }> }).targets;
    assert.equal(targets.length, 3, 'every target of the index, not only the one the URL selects');
    assert.deepEqual(targets.map((t) => t.state).sort(), ['kept', 'live', 'live']);
    for (const t of targets) {
      const want = truth.get(t.id)!;
      assert.equal(t.pending, want.rows, `target ${t.id} (${t.state}): rows`);
      assert.equal(typeof t.oldestChangeSeconds, 'number', `target ${t.id}: oldestChangeSeconds`);
      // The SQL reading came after status's: the ages differ by the time between the two.
      assert.ok(Math.abs(want.oldest - t.oldestChangeSeconds) < 1, `target ${t.id}: oldest change ${t.oldestChangeSeconds} s, SQL says ${want.oldest} s`);
    }
    const rows = [...truth.values()].map((x) => x.rows).sort((a, b) => a - b);
    assert.deepEqual(rows, [10, 70, 70], 'the churn as queued');

    const text = await runCli(['status'], c.env);
    for (const t of targets) {
      assert.match(text.stdout, new RegExp(`  ${t.id}: .*: ${t.pending} pending \\(oldest change [\\d.]+ (s|min) old\\)`), text.stdout);
    }
  });

  it('the oldest-change read goes through the (target_id, version) index, the count through an index too', async () => {
    const plan = await c.db.raw(`EXPLAIN ${targetQueuesSql(filmsSpec.queue)}`, ['movies']);
    const text = (plan.rows as Array<{ 'QUERY PLAN': string }>).map((x) => x['QUERY PLAN']).join('\n');
    assert.match(text, /Limit[\s\S]*Index Scan using film_work_change_version_idx on film_work_change/, text);
    assert.doesNotMatch(text, /Seq Scan on film_work_change/, text);
  });

  it("a watch's /metrics has each target's rows and oldest change, and the oldest change ages while nobody runs the target", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [`${root}bin/movies`, 'start-etl', '--watch', '--poll-interval', '1', '--metrics-port', String(port)], {
      env: { PATH: process.env.PATH ?? '', ...c.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const scrape = async (): Promise<Map<string, number>> => {
      try {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const out = new Map<string, number>();
        for (const m of text.matchAll(/^(movies_target_(?:queue_rows|oldest_change_seconds))\{index="movies",target="(\d+)",state="(\w+)"\} (\S+)$/gm)) {
          out.set(`${m[1]} ${m[2]} ${m[3]}`, Number(m[4]));
        }
        return out;
      } catch {
        return new Map();
      }
    };
    try {
      // Films no target has pending yet: every target's row count grows, the oldest changes stay.
      await editFilms(c, films.slice(100, 130), 'Churn under the watch');
      const rowsOfTargets = await c.db('movies.etl_target').where({ index_name: 'movies' }).select('id', 'state', 'engine');
      const states = new Map(rowsOfTargets.map((t) => [Number(t.id), String(t.state)]));
      const watched = Number(rowsOfTargets.find((t) => t.state === 'live' && String(t.engine).startsWith('opensearch'))!.id);
      let last = '';
      const t0 = Date.now();
      for (;;) {
        const [got, truth] = [await scrape(), await queueTruth(c)];
        const problems: string[] = [];
        for (const [id, want] of truth) {
          const rows = got.get(`movies_target_queue_rows ${id} ${states.get(id)}`);
          const oldest = got.get(`movies_target_oldest_change_seconds ${id} ${states.get(id)}`);
          if (rows !== want.rows) problems.push(`target ${id}: rows ${rows}, SQL ${want.rows}`);
          if (oldest === undefined || Math.abs(oldest - want.oldest) > 1) problems.push(`target ${id}: oldest ${oldest}, SQL ${want.oldest}`);
        }
        if (got.size !== 2 * truth.size) problems.push(`${got.size} series for ${truth.size} targets`);
        if (truth.get(watched)!.rows !== 0) problems.push(`the watched target ${watched} still has ${truth.get(watched)!.rows} rows`);
        if (problems.length === 0) break;
        last = problems.join('; ');
        if (Date.now() - t0 > 20_000) assert.fail(`/metrics never agreed with SQL: ${last} (watch: ${stderr.slice(-500)})`);
        await sleep(500);
      }
      const truth = await queueTruth(c);
      // The watch keeps the OpenSearch live target empty; the others keep their rows, and their oldest change keeps ageing.
      const pending = [...truth].filter(([, t]) => t.rows > 0);
      assert.equal(pending.length, 2, `two targets nobody runs here: ${JSON.stringify([...truth])}`);
      const before = await scrape();
      await sleep(2_000);
      const later = await scrape();
      for (const [id] of pending) {
        const k = `movies_target_oldest_change_seconds ${id} ${states.get(id)}`;
        assert.ok(later.get(k)! - before.get(k)! > 1.5, `${k} ages: ${before.get(k)} then ${later.get(k)}`);
      }
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    }
  });
});
