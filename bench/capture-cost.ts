/*
 * Where a captured write's extra cost goes (issue 23): the `update` pgbench script (one film's
 * imdb_rating per transaction) against the --films catalogue, with the film table's capture
 * replaced step by step in the benchmark's database:
 *   - off:      no triggers for the writers (session_replication_role = replica);
 *   - fire:     the statement trigger with its transition tables, its function returning at once;
 *   - select:   and the function selecting the changed ids from the transition tables;
 *   - sqlfn:    and handing them to a LANGUAGE sql enqueue function (the capture of earlier
 *               versions, planned again at every call) that upserts the queue row;
 *   - plfn:     the same with a LANGUAGE plpgsql enqueue function (its plan cached per session);
 *   - inline:   the trigger function upserting the queue rows itself, no enqueue function;
 *   - current:  the capture `movies migrate` installs now (src/capture/triggers.ts);
 *   - row:      a row-level trigger (WHEN the row changed) whose function upserts the queue row itself;
 *   - noindex:  `current` without the queue's (target_id, version) index (what the index costs).
 * Each variant is installed with CREATE OR REPLACE FUNCTION / CREATE TRIGGER on the film table
 * only; `movies migrate` puts the real capture back at the end.
 *
 *   npm run bench:capture-cost [-- --films 100000] [--clients 8] [--seconds 10] [--rounds 3]
 *                              [--variants off,fire,select,sqlfn,plfn,inline,current,row,noindex] [--name capture-cost]
 *
 * One target per index (alias bench_writers, built by bench:writers or here). Rounds interleave
 * the variants, alternating their order. Results: bench/results/<name>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ensureCatalogue } from './lib/catalogue.js';
import { cpuDelta, cpuSnapshot, machine, median, mustRun, ROOT } from './lib/measure.js';
import { numberIds, resetState, runPgbench, topWaits, writeScripts } from './lib/pgbench.js';

const { values: args } = parseArgs({
  options: {
    films: { type: 'string', default: '100000' },
    clients: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    variants: { type: 'string', default: 'off,fire,select,sqlfn,plfn,inline,current,row,noindex' },
    seed: { type: 'string', default: '1' },
    name: { type: 'string', default: 'capture-cost' },
  },
});
const films = Number(args.films);
const clientsList = args.clients!.split(',').map(Number);
const seconds = Number(args.seconds);
const rounds = Number(args.rounds);
const variants = args.variants!.split(',');
const ALIAS = 'bench_writers';
const engineUrl = process.env.OPENSEARCH_URL ?? 'http://127.0.0.1:9201';
const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);

const cat = await ensureCatalogue(`rebuild_${films % 1000 === 0 ? `${films / 1000}k` : films}`, films, Number(args.seed), log);
const env = { DATABASE_URL: cat.url, ELASTICSEARCH_URL: engineUrl, MOVIES_INDEX: ALIAS };
const db = new pg.Client({ connectionString: cat.url, application_name: 'bench-capture-cost' });
await db.connect();
const migrate = () => mustRun(['migrate'], env);
await migrate();
if (Number((await db.query("SELECT count(*)::int AS n FROM movies.etl_target WHERE index_name = 'movies'")).rows[0].n) === 0) {
  log('no target: init-es');
  await mustRun(['--json', '--quiet', 'init-es'], env);
}
log(`targets: ${JSON.stringify((await db.query('SELECT index_name, count(*)::int AS n FROM movies.etl_target GROUP BY 1 ORDER BY 1')).rows)}`);
const persons = await numberIds(db);
const files = writeScripts(films, persons).update;

const UPDATE_TRIGGER = 'movies_capture_film_work_upd';
const statementTrigger = (fn: string) => `
  DROP TRIGGER IF EXISTS ${UPDATE_TRIGGER} ON content.film_work;
  DROP TRIGGER IF EXISTS ${UPDATE_TRIGGER}_row ON content.film_work;
  CREATE TRIGGER ${UPDATE_TRIGGER} AFTER UPDATE ON content.film_work REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`;
const changedIds = `SELECT n.id FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id WHERE o.id IS NULL OR o IS DISTINCT FROM n
  UNION ALL SELECT o.id FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id)`;
const upsert = (ids: string) => `INSERT INTO movies.film_work_change AS c (target_id, film_work_id)
  SELECT t.id, d.id FROM movies.etl_target t CROSS JOIN (${ids}) d WHERE t.index_name = 'movies' ORDER BY 1, 2
  ON CONFLICT (target_id, film_work_id) DO UPDATE SET version = excluded.version, changed_at = excluded.changed_at`;

/** SQL that installs each variant, after `movies migrate` reinstalled the real capture. */
const VARIANTS: Record<string, { sql?: string; pgoptions?: string }> = {
  off: { pgoptions: '-c session_replication_role=replica' },
  fire: {
    sql: `CREATE OR REPLACE FUNCTION movies.bench_fire() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
          ${statementTrigger('movies.bench_fire')}`,
  },
  select: {
    sql: `CREATE OR REPLACE FUNCTION movies.bench_select() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM cardinality(ARRAY(${changedIds})); RETURN NULL; END $$;
          ${statementTrigger('movies.bench_select')}`,
  },
  sqlfn: {
    sql: `CREATE OR REPLACE FUNCTION movies.bench_enqueue_sql(ids uuid[]) RETURNS void LANGUAGE sql AS $$
            ${upsert('SELECT DISTINCT id FROM unnest(ids) AS u(id) WHERE id IS NOT NULL')} $$;
          CREATE OR REPLACE FUNCTION movies.bench_sqlfn() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM movies.bench_enqueue_sql(ARRAY(${changedIds})); RETURN NULL; END $$;
          ${statementTrigger('movies.bench_sqlfn')}`,
  },
  plfn: {
    sql: `CREATE OR REPLACE FUNCTION movies.bench_enqueue_pl(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
            BEGIN ${upsert('SELECT DISTINCT id FROM unnest(ids) AS u(id) WHERE id IS NOT NULL')}; END $$;
          CREATE OR REPLACE FUNCTION movies.bench_plfn() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM movies.bench_enqueue_pl(ARRAY(${changedIds})); RETURN NULL; END $$;
          ${statementTrigger('movies.bench_plfn')}`,
  },
  inline: {
    sql: `CREATE OR REPLACE FUNCTION movies.bench_inline() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN ${upsert(`SELECT DISTINCT id FROM (${changedIds}) AS x(id)`)}; RETURN NULL; END $$;
          ${statementTrigger('movies.bench_inline')}`,
  },
  current: {},
  row: {
    sql: `CREATE OR REPLACE FUNCTION movies.bench_row() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN ${upsert('SELECT NEW.id')}; RETURN NULL; END $$;
          DROP TRIGGER IF EXISTS ${UPDATE_TRIGGER} ON content.film_work;
          CREATE TRIGGER ${UPDATE_TRIGGER}_row AFTER UPDATE ON content.film_work
            FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION movies.bench_row()`,
  },
  noindex: { sql: 'DROP INDEX movies.film_work_change_version_idx' },
};

interface Run {
  round: number;
  clients: number;
  variant: string;
  tps: number;
  waits: Record<string, number>;
  samples: number;
  postgresCpuPerTx: number;
}

async function install(variant: string): Promise<void> {
  await migrate();
  // migrate does not re-create an index a variant dropped: the queue's index is movies' own.
  await db.query('CREATE INDEX IF NOT EXISTS film_work_change_version_idx ON movies.film_work_change (target_id, version)');
  const sql = VARIANTS[variant]!.sql;
  if (sql) await db.query(sql);
}

const runs: Run[] = [];
for (let round = 1; round <= rounds; round++) {
  const order = round % 2 === 1 ? variants : [...variants].reverse();
  for (const clients of clientsList) {
    for (const variant of order) {
      if (!VARIANTS[variant]) throw new Error(`unknown variant ${variant}`);
      await install(variant);
      await resetState(db);
      const cpu0 = cpuSnapshot();
      const b = await runPgbench({ url: cat.url, clients, seconds, files, pgoptions: VARIANTS[variant]!.pgoptions, sampler: db });
      const cpu = cpuDelta(cpu0, cpuSnapshot());
      const postgresCpuPerTx = (cpu.postgres / Math.max(1, b.transactions)) * 1e6;
      runs.push({ round, clients, variant, tps: b.tps, waits: b.waits, samples: b.samples, postgresCpuPerTx });
      log(`round ${round} c=${clients} ${variant}: ${b.tps.toFixed(0)} tps; PostgreSQL ${postgresCpuPerTx.toFixed(0)} µs CPU per transaction; waits ${topWaits(b, clients)}`);
    }
  }
}
await install('current');
await migrate();

const summary = clientsList.flatMap((clients) =>
  variants.map((variant) => {
    const rs = runs.filter((r) => r.clients === clients && r.variant === variant);
    const tps = rs.map((r) => r.tps);
    return { clients, variant, median: median(tps), min: Math.min(...tps), max: Math.max(...tps), postgresCpuPerTx: median(rs.map((r) => r.postgresCpuPerTx)) };
  }),
);
for (const s of summary) log(`c=${s.clients} ${s.variant}: median ${s.median.toFixed(0)} tps (${s.min.toFixed(0)}–${s.max.toFixed(0)}), ${s.postgresCpuPerTx.toFixed(0)} µs PostgreSQL CPU per transaction`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const out = join(ROOT, 'bench/results', `${args.name}.json`);
writeFileSync(out, JSON.stringify({ machine: await machine(), films, seconds, rounds, at: new Date().toISOString(), summary, runs }, null, 2));
log(`wrote ${out}`);
await db.end();
