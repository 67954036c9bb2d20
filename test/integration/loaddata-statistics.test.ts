import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import knexFactory, { type Knex } from 'knex';
import type pg from 'pg';
import { runCli } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';
import { serviceEnv } from '../helpers/env.js';
import { loadFixtures } from '../../src/django/load.js';
import { pgConnectionOptions, type Db } from '../../src/db/knex.js';
import { markPage } from '../../src/db/queue.js';
import { pageEnd, pendingWatermark, readRange } from '../../src/etl/extractor.js';
import { filmsIndex as filmsDefinition } from '../../src/indexes/films/index.js';
import { bindIndex } from '../../src/indexes/spec.js';
import { names } from '../../src/catalogue/names.js';
import { defaultCatalogue } from '../../src/catalogue/resolve.js';

const filmsIndex = bindIndex(filmsDefinition, names(defaultCatalogue()));

/*
 * Issue 21 item 5. Whatever the server's autovacuum does, loaddata leaves fresh planner statistics
 * on what it wrote; and the ETL's page statements keep their index-driven plans on tables that
 * have none (a catalogue never analyzed, a queue just filled).
 */

const services = serviceEnv();
const CATALOGUE = ['film_work', 'genre', 'person', 'film_work_genre', 'film_work_person'];
const QUEUES = ['film_work_change', 'genre_change', 'person_change'];
/** Every table loaddata writes, schema-qualified: the catalogue's and movies' queues. */
const WRITTEN = [...CATALOGUE.map((t) => `content.${t}`), ...QUEUES.map((t) => `movies.${t}`)];
const PAGE = 500;

let dir: string;
/** Enough films for a bad plan to show (page end, mark); a small one for loaddata's statistics. */
let fixture: string;
let small: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'movies-stats-'));
  fixture = join(dir, 'films.json');
  small = join(dir, 'small.json');
  for (const [out, films] of [[fixture, '20000'], [small, '2000']] as const) {
    const g = await runCli(['generate', '--films', films, '--seed', '5', '--out', out], {});
    assert.equal(g.code, 0, g.stderr);
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A database where autovacuum never analyzes our tables, whatever the server's setting, with one film target. */
async function blindDatabase(): Promise<{ url: string; db: Db; target: number; drop(): Promise<void> }> {
  const fresh = await freshDatabase(services.DATABASE_URL, 'movies_stats');
  for (const t of WRITTEN) await fresh.db.raw(`ALTER TABLE ${t} SET (autovacuum_enabled = false)`);
  const r = await fresh.db.raw<{ rows: Array<{ id: number }> }>(`INSERT INTO movies.etl_target (index_name, state) VALUES ('movies', 'building') RETURNING id`);
  return { ...fresh, target: r.rows[0]!.id };
}

const lastAnalyze = async (db: Db) =>
  new Map(
    (
      await db.raw<{ rows: Array<{ relname: string; last_analyze: Date | null; reltuples: number }> }>(
        `SELECT s.relname, s.last_analyze, c.reltuples FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
         WHERE s.schemaname IN ('content', 'movies')`,
      )
    ).rows.map((r) => [r.relname, r]),
  );

describe('loaddata leaves fresh statistics', () => {
  let t: Awaited<ReturnType<typeof blindDatabase>>;
  before(async () => (t = await blindDatabase()));
  after(() => t.drop());

  it('analyzes every catalogue table and queue it wrote, after its commit, and says so', async () => {
    const before = await lastAnalyze(t.db);
    for (const name of [...CATALOGUE, 'film_work_change']) {
      assert.equal(before.get(name)?.last_analyze, null, `${name} analyzed before the load`);
      assert.equal(Number(before.get(name)?.reltuples), -1, `${name} has statistics before the load`);
    }
    const started = new Date();
    const r = await runCli(['--json', 'loaddata', small], { DATABASE_URL: t.url });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { analyzed?: { tables: string[]; seconds: number }; phases: Record<string, number> };
    assert.ok(out.analyzed, `no "analyzed" in the result: ${r.stdout}`);
    for (const name of WRITTEN) assert.ok(out.analyzed.tables.includes(name), `${name} not in ${out.analyzed.tables}`);
    assert.equal(typeof out.phases.analyze, 'number');

    const films = await t.db.raw<{ rows: Array<{ n: number }> }>('SELECT count(*)::int AS n FROM movies.film_work_change');
    assert.equal(films.rows[0]!.n, 2_000);
    // pg_stat_user_tables is written when the CLI's session ends: give it a moment.
    let now = await lastAnalyze(t.db);
    for (let i = 0; i < 50 && [...CATALOGUE, 'film_work_change'].some((n) => !now.get(n)?.last_analyze); i++) {
      await new Promise((res) => setTimeout(res, 100));
      now = await lastAnalyze(t.db);
    }
    for (const name of [...CATALOGUE, 'film_work_change']) {
      const s = now.get(name)!;
      assert.ok(s.last_analyze && s.last_analyze.getTime() >= started.getTime() - 1000, `${name}: last_analyze ${String(s.last_analyze)}`);
      assert.ok(Number(s.reltuples) > 0, `${name}: reltuples ${s.reltuples}`);
    }
    assert.match(
      (await runCli(['loaddata', small], { DATABASE_URL: t.url })).stdout,
      /planner statistics refreshed \(ANALYZE\) on 8 tables/,
    );
  });
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

const nodes = (p: PlanNode): PlanNode[] => [p, ...(p.Plans ?? []).flatMap(nodes)];

describe('the page statements keep index-driven plans without statistics', () => {
  let t: Awaited<ReturnType<typeof blindDatabase>>;
  let explaining: Knex;
  const plans: Array<{ query: string; plan: PlanNode }> = [];

  before(async () => {
    t = await blindDatabase();
    await loadFixtures({ db: t.db, files: [fixture] });
    // Another target's backlog (a kept index, another cluster) in the same queue: 120k rows in all.
    const other = await t.db.raw<{ rows: Array<{ id: number }> }>(`INSERT INTO movies.etl_target (index_name, state) VALUES ('movies', 'kept') RETURNING id`);
    await t.db.raw(`INSERT INTO movies.film_work_change (target_id, film_work_id) SELECT ?, gen_random_uuid() FROM generate_series(1, 100000)`, [other.rows[0]!.id]);
    // As never analyzed, whatever loaddata did: the planner has only the tables' sizes.
    const rels = WRITTEN.map((n) => `'${n}'::regclass`).join(', ');
    await t.db.raw(`DELETE FROM pg_statistic WHERE starelid IN (${rels})`);
    await t.db.raw(`UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid IN (${rels})`);
    // Every statement's executed plan comes back as a notice (auto_explain, a contrib module shipped with PostgreSQL).
    explaining = knexFactory({
      client: 'pg',
      connection: pgConnectionOptions(t.url, { connectMs: 10_000, statementMs: 60_000 }, 'test-explain') as Knex.PgConnectionConfig,
      pool: {
        min: 0,
        max: 2,
        afterCreate: (conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) => {
          conn.on('notice', (n) => {
            const text = String(n.message ?? '');
            const at = text.indexOf('{');
            if (!text.includes('plan:') || at < 0) return;
            const p = JSON.parse(text.slice(at)) as { 'Query Text': string; Plan: PlanNode };
            plans.push({ query: p['Query Text'], plan: p.Plan });
          });
          conn
            .query(
              `LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on;
               SET auto_explain.log_format = json; SET auto_explain.log_level = notice`,
            )
            .then(() => done(null, conn), (err: Error) => done(err, conn));
        },
      },
    });
  });
  after(async () => {
    await explaining?.destroy();
    await t.drop();
  });

  /** The plans of the statements that read `relation`, since `from`. */
  const planned = (from: number, relation: string) => plans.slice(from).filter((p) => new RegExp(`"?(content|movies)"?\\."?${relation}\\b`).test(p.query));

  /** No scan of the queue or the catalogue reads more rows than a page needs, nor the whole of a big table. */
  function assertKeyed(what: string, found: Array<{ query: string; plan: PlanNode }>) {
    assert.ok(found.length > 0, `${what}: no plan seen`);
    for (const { query, plan } of found) {
      for (const n of nodes(plan)) {
        if (!/Scan/.test(n['Node Type']) || !n['Relation Name']) continue;
        const where = `${what}: ${n['Node Type']} on ${n['Relation Name']} read ${n['Actual Rows']} rows\n${query.trim().slice(0, 200)}`;
        assert.ok(!(n['Node Type'] === 'Seq Scan' && n['Relation Name'] !== 'genre'), where);
        assert.ok((n['Actual Rows'] ?? 0) <= PAGE * 2, where);
      }
    }
  }

  let upTo = 0;
  let last: number | undefined;
  let rows: Awaited<ReturnType<typeof readRange>> = [];
  before(async () => {
    const w = await pendingWatermark(t.db, filmsIndex.queue, t.target);
    assert.equal(w.pending, 20_000);
    upTo = w.upTo;
  });

  it('finds the page end by walking the version index', async () => {
    const from = plans.length;
    last = await pageEnd(explaining, filmsIndex.queue, t.target, 0, upTo, PAGE);
    assert.ok(last !== undefined);
    assertKeyed('page end', planned(from, filmsIndex.queue.table));
  });

  it("builds the page's documents by key", async () => {
    const from = plans.length;
    rows = await readRange(explaining, filmsIndex, t.target, 0, last!);
    assert.equal(rows.length, PAGE);
    assertKeyed('page', planned(from, 'film_work'));
  });

  it('marks the page by key', async () => {
    const from = plans.length;
    const m = await markPage(explaining, filmsIndex.queue, t.target, rows.map((r) => ({ id: r.id, version: r.version })), []);
    assert.equal(m.marked, PAGE);
    assertKeyed('mark', planned(from, filmsIndex.queue.table));
  });
});
