/*
 * What change capture costs the catalogue's writers (issue 23): Debian's pgbench against the
 * --films catalogue, one target per index, in three modes interleaved:
 *   - off:     triggers off for the writers (PGOPTIONS session_replication_role = replica; this
 *              also skips the foreign-key checks of the link script);
 *   - capture: the capture triggers, nobody draining the queues;
 *   - watch:   the capture triggers and a running `movies start-etl --watch` (on --engine);
 *   - logical: logical capture (`migrate --capture logical`: a slot, no trigger), nobody reading it;
 *   - logical-watch: logical capture and a running watch, which reads the slot.
 * The database is switched between trigger and logical capture by `movies migrate --capture`
 * when the next mode needs the other one; logical modes need a server with wal_level = logical
 * (DATABASE_URL_LOGICAL from `npm run services:up`: run the whole benchmark there, e.g.
 * `DATABASE_URL=$DATABASE_URL_LOGICAL npm run bench:writers -- --modes off,capture,watch,logical,logical-watch`,
 * so that every mode is measured on the same server).
 *
 *   npm run bench:writers [-- --films 100000] [--clients 8,32] [--seconds 15] [--rounds 3]
 *                         [--scripts update,link] [--modes off,capture,watch] [--engine opensearch]
 *                         [--name writers]
 *
 * Scripts: `update` sets one random film's imdb_rating (autocommit, prepared); `link` inserts a
 * film_work_person link between a random film and person, or deletes a random film's first
 * link, half and half. Each run starts from the same state: queues emptied, the tables written
 * vacuumed, a CHECKPOINT. During a run pg_stat_activity is sampled every 100 ms for the pgbench
 * connections' wait events (active without one counts as CPU), and each process's CPU time
 * (PostgreSQL, the engine's JVM, the watch, pgbench) is taken over the run.
 *
 * Per round, the order of the modes alternates (off, capture, watch; then watch, capture, off).
 * Env: DATABASE_URL (server only), OPENSEARCH_URL / ELASTICSEARCH_URL. Results:
 * bench/results/<name>.json; BENCHMARKS.md is written by hand from them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { dropAlias } from './lib/alias.js';
import { ensureCatalogue } from './lib/catalogue.js';
import { cpuSnapshot, cpuDelta, machine, median, mustRun, ROOT } from './lib/measure.js';
import { numberIds, procCpu, resetState, runPgbench, topWaits, writeScripts, type Script } from './lib/pgbench.js';

const { values: args } = parseArgs({
  options: {
    films: { type: 'string', default: '100000' },
    clients: { type: 'string', default: '8,32' },
    seconds: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '3' },
    scripts: { type: 'string', default: 'update,link' },
    modes: { type: 'string', default: 'off,capture,watch' },
    engine: { type: 'string', default: 'opensearch' },
    seed: { type: 'string', default: '1' },
    name: { type: 'string', default: 'writers' },
  },
});
type Mode = 'off' | 'capture' | 'watch' | 'logical' | 'logical-watch';
const captureOf = (m: Mode) => (m === 'logical' || m === 'logical-watch' ? 'logical' : 'triggers');
const films = Number(args.films);
const clientsList = args.clients!.split(',').map(Number);
const seconds = Number(args.seconds);
const rounds = Number(args.rounds);
const scripts = args.scripts!.split(',') as Script[];
const modes = args.modes!.split(',') as Mode[];
const ALIAS = 'bench_writers';
const METRICS_PORT = 9465;
const engineUrl =
  args.engine === 'elasticsearch' ? (process.env.ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200') : (process.env.OPENSEARCH_URL ?? 'http://127.0.0.1:9201');
const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);

const cat = await ensureCatalogue(`rebuild_${films % 1000 === 0 ? `${films / 1000}k` : films}`, films, Number(args.seed), log);
const env = { DATABASE_URL: cat.url, ELASTICSEARCH_URL: engineUrl, MOVIES_INDEX: ALIAS };
const db = new pg.Client({ connectionString: cat.url, application_name: 'bench-writers' });
await db.connect();

// One target per index: this benchmark's alias, built afresh; other aliases' targets would each get a queue row per write.
await dropAlias(cat.url, engineUrl, ALIAS);
const others = await db.query("SELECT count(*)::int AS n FROM movies.etl_target WHERE alias IS DISTINCT FROM $1 AND alias NOT LIKE $1 || '\\_%'", [ALIAS]);
if (others.rows[0].n > 0) {
  log(`dropping ${others.rows[0].n} targets of other aliases (this database is the benchmark's)`);
  await db.query("DELETE FROM movies.etl_target WHERE alias IS DISTINCT FROM $1 AND alias NOT LIKE $1 || '\\_%'", [ALIAS]);
}
const init = await mustRun(['--json', '--quiet', 'init-es'], env);
log(`init-es ${init.seconds.toFixed(1)} s`);
const targets = (await db.query('SELECT index_name, count(*)::int AS n FROM movies.etl_target GROUP BY 1 ORDER BY 1')).rows;
log(`targets: ${targets.map((t) => `${t.index_name} ${t.n}`).join(', ')}`);

const persons = await numberIds(db);
const SCRIPTS = writeScripts(films, persons);

async function startWatch(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/movies'), 'start-etl', '--watch', '--metrics-port', String(METRICS_PORT)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const deadline = performance.now() + 120_000;
  while (performance.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${METRICS_PORT}/healthz`).then((r) => r.ok).catch(() => false);
    if (ok) return child;
    if (child.exitCode !== null) break;
    await sleep(200);
  }
  child.kill('SIGKILL');
  throw new Error(`the watch did not become healthy: ${err}`);
}

interface Run {
  round: number;
  script: Script;
  clients: number;
  mode: Mode;
  tps: number;
  transactions: number;
  /** Samples of the pgbench connections: each connection's wait event (or CPU) counted once per sample. */
  waits: Record<string, number>;
  samples: number;
  cpu: { postgres: number; engine: number; watch: number; pgbench: number; machineBusy: number; seconds: number };
  /** Queue rows left at the end (capture: every write; watch: what it had not marked yet). */
  queued: number;
}

/** Switches the database's capture when `mode` needs the other one, then skips what the slot holds (earlier runs' writes). */
async function captureFor(mode: Mode): Promise<void> {
  const want = captureOf(mode);
  const now = (await db.query('SELECT mode FROM movies.capture')).rows[0].mode as string;
  if (now !== want) {
    const m = await mustRun(['--json', '--quiet', 'migrate', '--capture', want], env);
    log(`capture switched to ${want} in ${m.seconds.toFixed(1)} s`);
  }
  const s = (await db.query('SELECT slot FROM movies.capture WHERE slot IS NOT NULL')).rows[0];
  if (!s) return;
  const at = (await db.query('SELECT pg_current_wal_flush_lsn()::text AS at')).rows[0].at;
  await db.query('UPDATE movies.capture SET applied_lsn = $1::pg_lsn', [at]);
  await db.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [s.slot, at]);
}

async function run(round: number, script: Script, clients: number, mode: Mode): Promise<Run> {
  await captureFor(mode);
  await resetState(db);
  const watch = mode === 'watch' || mode === 'logical-watch' ? await startWatch() : undefined;
  const cpu0 = cpuSnapshot();
  const watch0 = procCpu(watch?.pid);
  const b = await runPgbench({
    url: cat.url,
    clients,
    seconds,
    files: SCRIPTS[script],
    pgoptions: mode === 'off' ? '-c session_replication_role=replica' : '',
    sampler: db,
  });
  const cpu = cpuDelta(cpu0, cpuSnapshot());
  const watchCpu = procCpu(watch?.pid) - watch0;
  if (watch) {
    const stopped = new Promise((r) => watch.once('exit', r));
    watch.kill('SIGTERM');
    await stopped;
  }
  const queued = Number((await db.query('SELECT (SELECT count(*) FROM movies.film_work_change) + (SELECT count(*) FROM movies.person_change) AS n')).rows[0].n);
  log(
    `round ${round} ${script} c=${clients} ${mode}: ${b.tps.toFixed(0)} tps; waits ${topWaits(b, clients)}; ` +
      `cpu s pg ${cpu.postgres.toFixed(1)} engine ${cpu.engine.toFixed(1)} watch ${watchCpu.toFixed(1)} pgbench ${b.pgbenchCpu.toFixed(1)}; queued ${queued}`,
  );
  return {
    round,
    script,
    clients,
    mode,
    tps: b.tps,
    transactions: b.transactions,
    waits: b.waits,
    samples: b.samples,
    cpu: { postgres: cpu.postgres, engine: cpu.engine, watch: watchCpu, pgbench: b.pgbenchCpu, machineBusy: cpu.machineBusy, seconds: b.seconds },
    queued,
  };
}

const runs: Run[] = [];
for (let round = 1; round <= rounds; round++) {
  const order = round % 2 === 1 ? modes : [...modes].reverse();
  for (const script of scripts) for (const clients of clientsList) for (const mode of order) runs.push(await run(round, script, clients, mode));
}

const summary = scripts.flatMap((script) =>
  clientsList.map((clients) => {
    const of = (mode: Mode) => runs.filter((r) => r.script === script && r.clients === clients && r.mode === mode);
    const stat = (mode: Mode) => {
      const rs = of(mode);
      const tps = rs.map((r) => r.tps);
      const lockObject = rs.reduce((a, r) => a + (r.waits['Lock:object'] ?? 0), 0);
      const perSecond = (f: (r: Run) => number) => median(rs.map((r) => f(r) / r.cpu.seconds));
      return {
        median: median(tps),
        min: Math.min(...tps),
        max: Math.max(...tps),
        lockObjectSamples: lockObject,
        cpuPerSecond: {
          postgres: perSecond((r) => r.cpu.postgres),
          engine: perSecond((r) => r.cpu.engine),
          watch: perSecond((r) => r.cpu.watch),
          pgbench: perSecond((r) => r.cpu.pgbench),
          machineBusy: perSecond((r) => r.cpu.machineBusy),
        },
      };
    };
    const s = Object.fromEntries(modes.map((m) => [m, stat(m)])) as Record<Mode, ReturnType<typeof stat>>;
    return {
      script,
      clients,
      ...s,
      ...(s.off && s.capture ? { captureOverOff: s.capture.median / s.off.median } : {}),
      ...(s.capture && s.watch ? { watchOverCapture: s.watch.median / s.capture.median } : {}),
      ...(s.off && s.watch ? { watchOverOff: s.watch.median / s.off.median } : {}),
      ...(s.off && s.logical ? { logicalOverOff: s.logical.median / s.off.median } : {}),
      ...(s.off && s['logical-watch'] ? { logicalWatchOverOff: s['logical-watch'].median / s.off.median } : {}),
    };
  }),
);
for (const s of summary) log(`${s.script} c=${s.clients}: ${JSON.stringify(s)}`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const out = join(ROOT, 'bench/results', `${args.name}.json`);
writeFileSync(out, JSON.stringify({ machine: await machine(), films, seconds, rounds, engine: args.engine, at: new Date().toISOString(), summary, runs }, null, 2));
log(`wrote ${out}`);
await dropAlias(cat.url, engineUrl, ALIAS);
await db.end();
