/*
 * The ETL's throughput in each capture mode (issue 24): the --films catalogue on one server with
 * wal_level = logical, switched between trigger and logical capture by `movies migrate --capture`,
 * the modes interleaved (triggers, logical; then logical, triggers) for --rounds rounds:
 *   - full:        `movies init-es --keep 0` (the film index rebuilt aside and swapped);
 *   - incremental: --edits films edited in --edits/1000 transactions, then every link of 100
 *                  persons deleted and put back, then `movies start-etl` until nothing is pending
 *                  (in logical mode this includes reading the slot into the queues).
 *
 *   DATABASE_URL=$DATABASE_URL_LOGICAL npm run bench:capture-modes [-- --films 100000] [--edits 20000]
 *                                                                  [--rounds 3] [--name capture-modes]
 *
 * Env: DATABASE_URL (a server with wal_level = logical), OPENSEARCH_URL. Results:
 * bench/results/<name>.json; BENCHMARKS.md is written by hand from them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { dropAlias } from './lib/alias.js';
import { ensureCatalogue } from './lib/catalogue.js';
import { engineUrl, machine, median, mustRun, ROOT } from './lib/measure.js';

const { values: args } = parseArgs({
  options: {
    films: { type: 'string', default: '100000' },
    edits: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    name: { type: 'string', default: 'capture-modes' },
  },
});
type Mode = 'triggers' | 'logical';
const films = Number(args.films);
const edits = Number(args.edits);
const rounds = Number(args.rounds);
const ALIAS = 'bench_capture_modes';
const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);

const cat = await ensureCatalogue(`rebuild_${films % 1000 === 0 ? `${films / 1000}k` : films}`, films, Number(args.seed), log);
const env = { DATABASE_URL: cat.url, OPENSEARCH_URL: engineUrl(), ELASTICSEARCH_URL: engineUrl(), MOVIES_INDEX: ALIAS, MOVIES_ONLY: 'movies' };
const db = new pg.Client({ connectionString: cat.url, application_name: 'bench-capture-modes' });
await db.connect();
await dropAlias(cat.url, engineUrl(), ALIAS);
// One target: other aliases' targets would each get their own queue rows.
await db.query("DELETE FROM movies.etl_target WHERE alias IS DISTINCT FROM $1 AND alias NOT LIKE $1 || '\\_%'", [ALIAS]);

interface Run {
  round: number;
  mode: Mode;
  switchSeconds: number;
  fullSeconds: number;
  fullDocsPerSecond: number;
  /** Writing the edits (the writers' side, in this process). */
  editSeconds: number;
  incrementalSeconds: number;
  incrementalDocs: number;
  incrementalDocsPerSecond: number;
}

async function edit(round: number): Promise<number> {
  const t0 = performance.now();
  const perTx = 1000;
  for (let i = 0; i < edits / perTx; i++) {
    await db.query(
      `UPDATE content.film_work SET title = left(title, 150) || ' r' || $1::text
       WHERE id IN (SELECT id FROM content.film_work ORDER BY id OFFSET $2 LIMIT $3)`,
      [round, ((round * edits + i * perTx) % films), perTx],
    );
  }
  // Links of 100 persons deleted and put back: each end of each link changes.
  await db.query('BEGIN');
  await db.query(`CREATE TEMP TABLE moved ON COMMIT DROP AS
    SELECT * FROM content.film_work_person WHERE person_id IN (SELECT id FROM content.person ORDER BY id OFFSET $1 LIMIT 100)`, [round * 100]);
  await db.query('DELETE FROM content.film_work_person WHERE id IN (SELECT id FROM moved)');
  await db.query('INSERT INTO content.film_work_person SELECT * FROM moved');
  await db.query('COMMIT');
  return (performance.now() - t0) / 1000;
}

async function run(round: number, mode: Mode): Promise<Run> {
  const now = (await db.query('SELECT mode FROM movies.capture')).rows[0].mode as Mode;
  const sw = now === mode ? 0 : (await mustRun(['--quiet', 'migrate', '--capture', mode], env)).seconds;
  const full = await mustRun(['--json', '--quiet', 'init-es', '--keep', '0'], env);
  const fullDocs = Number((full.json as { indexed?: number } | undefined)?.indexed ?? films);
  const editSeconds = await edit(round);
  const inc = await mustRun(['--json', '--quiet', 'start-etl'], env);
  const j = (inc.json ?? {}) as { indexed?: number; deleted?: number };
  const docs = (j.indexed ?? 0) + (j.deleted ?? 0);
  const r: Run = {
    round,
    mode,
    switchSeconds: sw,
    fullSeconds: full.seconds,
    fullDocsPerSecond: fullDocs / full.seconds,
    editSeconds,
    incrementalSeconds: inc.seconds,
    incrementalDocs: docs,
    incrementalDocsPerSecond: docs / inc.seconds,
  };
  log(
    `round ${round} ${mode}: switch ${sw.toFixed(1)} s; full ${full.seconds.toFixed(1)} s (${r.fullDocsPerSecond.toFixed(0)} docs/s); ` +
      `edits ${editSeconds.toFixed(1)} s; incremental ${docs} docs in ${inc.seconds.toFixed(1)} s (${r.incrementalDocsPerSecond.toFixed(0)} docs/s)`,
  );
  return r;
}

const runs: Run[] = [];
for (let round = 1; round <= rounds; round++) {
  const order: Mode[] = round % 2 === 1 ? ['triggers', 'logical'] : ['logical', 'triggers'];
  for (const mode of order) runs.push(await run(round, mode));
}
const summary = Object.fromEntries(
  (['triggers', 'logical'] as const).map((mode) => {
    const rs = runs.filter((r) => r.mode === mode);
    const stat = (f: (r: Run) => number) => ({ median: median(rs.map(f)), min: Math.min(...rs.map(f)), max: Math.max(...rs.map(f)) });
    return [
      mode,
      {
        fullSeconds: stat((r) => r.fullSeconds),
        fullDocsPerSecond: stat((r) => r.fullDocsPerSecond),
        editSeconds: stat((r) => r.editSeconds),
        incrementalSeconds: stat((r) => r.incrementalSeconds),
        incrementalDocsPerSecond: stat((r) => r.incrementalDocsPerSecond),
      },
    ];
  }),
);
log(JSON.stringify(summary));
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const out = join(ROOT, 'bench/results', `${args.name}.json`);
writeFileSync(out, JSON.stringify({ machine: await machine(), films, edits, rounds, at: new Date().toISOString(), summary, runs }, null, 2));
log(`wrote ${out}`);
// Back to trigger capture, as ensureCatalogue's other users expect the catalogue.
await mustRun(['--quiet', 'migrate', '--capture', 'triggers'], env);
await dropAlias(cat.url, engineUrl(), ALIAS);
await db.end();
