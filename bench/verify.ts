/*
 * `movies verify` next to a full index, at 100k and 1M films.
 * Target: verify of 1M films takes at most a full index's time, with flat memory.
 *
 *   npm run bench:verify [-- --sizes 100000,1000000] [--runs 3] [--large-runs 2]
 *                        [--pages 1000,5000,10000] [--page-rounds 2] [--drift 1000]
 *                        [--drift-rounds 3] [--sides] [--verify-args=--deep] [--name verify]
 *
 * Per size (catalogue movies_bench_<size>, the bench's direct loader, reused by later runs;
 * alias bench_verify on OpenSearch, film index only), --runs rounds (sizes ≥ 1M: --large-runs),
 * each round in this order:
 *   - `movies --json init-es --keep 0`, timed: the full index (as bench/run.ts measures it);
 *   - `movies --json verify`, timed, which must exit 0 with no drift;
 *   - `movies --json status`: the peak RSS of a CLI that holds no data, the baseline.
 * Each timed run records wall time, the CLI's CPU and peak RSS (GNU time, bench/lib/measure.ts),
 * the CPU of the catalogue database's backends (sampled from /proc, below), of every postgres
 * process and of the engine's JVM (cpuSnapshot), and the machine's busy CPU.
 * At the smallest size, after the rounds:
 *   - verify with each --page, --page-rounds rounds, the order rotating per round;
 *   - drift, --drift-rounds rounds: --drift documents (every films/drift-th film in id order,
 *     spread over every page) deleted from the concrete index by a bulk request, then verify
 *     (timed; must exit 11 with exactly that many missing), verify --repair (timed; enqueues
 *     them), start-etl, and a last verify that must exit 0: the clean run next to the drifted one.
 * --sides (at every size, after the rounds): each side of the comparison alone, once: the
 * database's expected pages through src/verify/expected.ts in this process, and the engine's
 * sorted pages over plain HTTP with src/engine/stamps.ts's body, both at the default page.
 * --verify-args: extra flags for every verify (e.g. --verify-args=--deep).
 *
 * Env: DATABASE_URL (server only), OPENSEARCH_URL (default :9201). The alias's indexes and the
 * catalogue's targets for it are deleted at the end; the catalogues are kept. Results:
 * bench/results/<name>.json, a file of its own shape (no `results` array), so the generated
 * section of BENCHMARKS.md skips it (bench/lib/report.ts); the figures are written up by hand.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createDb } from '../src/db/knex.js';
import { stampsBody } from '../src/engine/stamps.js';
import { HASH_FIELD } from '../src/indexes/content-hash.js';
import { filmsIndex as filmsDefinition } from '../src/indexes/films/index.js';
import { bindIndex } from '../src/indexes/spec.js';
import { names } from '../src/catalogue/names.js';
import { defaultCatalogue } from '../src/catalogue/resolve.js';

const filmsIndex = bindIndex(filmsDefinition, names(defaultCatalogue()));
import { expectedPage } from '../src/verify/expected.js';
import { dropAlias } from './lib/alias.js';
import { ensureCatalogue, type CatalogueInfo } from './lib/catalogue.js';
import { cpuDelta, cpuSnapshot, engineUrl, load1, machine, median, ROOT, runCli, type CliRun } from './lib/measure.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    runs: { type: 'string', default: '3' },
    'large-runs': { type: 'string', default: '2' },
    pages: { type: 'string', default: '1000,5000,10000' },
    'page-rounds': { type: 'string', default: '2' },
    drift: { type: 'string', default: '1000' },
    'drift-rounds': { type: 'string', default: '3' },
    sides: { type: 'boolean', default: false },
    'verify-args': { type: 'string', default: '' },
    seed: { type: 'string', default: '1' },
    name: { type: 'string', default: 'verify' },
  },
});
const sizes = args.sizes!.split(',').map(Number);
const runs = Number(args.runs);
const largeRuns = Number(args['large-runs']);
const pages = args.pages!.split(',').filter(Boolean).map(Number);
const pageRounds = Number(args['page-rounds']);
const driftDocs = Number(args.drift);
const driftRounds = Number(args['drift-rounds']);
const seed = Number(args.seed);
const verifyArgs = args['verify-args']!.split(/\s+/).filter(Boolean);
const ALIAS = 'bench_verify';
const DEFAULT_PAGE = 5000;
const label = (n: number) => (n % 1_000_000 === 0 ? `${n / 1_000_000}m` : n % 1000 === 0 ? `${n / 1000}k` : String(n));
const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);

const env = (cat: CatalogueInfo) => ({ DATABASE_URL: cat.url, ELASTICSEARCH_URL: engineUrl(), MOVIES_INDEX: ALIAS, MOVIES_ONLY: 'movies' });

// ---------------------------------------------------------------- PostgreSQL CPU of one database
/*
 * The CPU of the backends connected to one database, sampled from /proc every 100 ms: the
 * postmaster's reaped-children total (cpuSnapshot) also counts other databases' backends, and
 * this machine is shared with other sessions' tests. A backend's last 100 ms before it exits
 * can be missed; the CLI's connections live for the whole run, so that is its last query's tail.
 */
const HZ = 100;
class BackendCpu {
  private readonly first = new Map<string, number>();
  private readonly last = new Map<string, number>();
  private readonly other = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private starting = true;

  constructor(private readonly database: string) {}

  start(): this {
    this.tick();
    this.starting = false;
    this.timer = setInterval(() => this.tick(), 100);
    return this;
  }

  private tick(): void {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid) || this.other.has(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') {
          this.other.add(pid);
          continue;
        }
        // The process title: "postgres: <cluster>: <user> <database> <client> <activity>".
        const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        const m = /^postgres: (?:[^:]+: )?(\S+) (\S+) \S+/.exec(title);
        if (!m) {
          // Auxiliary processes never become a backend. Anything else is looked at again: a
          // backend just forked still has the postmaster's command line until it sets its
          // title (excluding it for good there lost a whole run's backends once).
          if (/^postgres: (?:[^:]+: )?(checkpointer|background writer|walwriter|autovacuum|logical replication|archiver|stats|startup|walsender|walreceiver)/.test(title)) this.other.add(pid);
          continue;
        }
        if (m[2] !== this.database) {
          this.other.add(pid);
          continue;
        }
        const f = stat.slice(close + 2).split(' ');
        const cpu = (Number(f[11]) + Number(f[12])) / HZ;
        if (this.starting) this.first.set(pid, cpu);
        this.last.set(pid, cpu);
      } catch {
        /* exited */
      }
    }
  }

  /** CPU seconds of the database's backends since start(). */
  stop(): number {
    clearInterval(this.timer);
    this.tick();
    let s = 0;
    for (const [pid, cpu] of this.last) s += cpu - (this.first.get(pid) ?? 0);
    return s;
  }
}

// ---------------------------------------------------------------- one measured CLI run
interface Timed {
  seconds: number;
  peakRssMb: number;
  cpuCli: number;
  /** The catalogue database's backends. */
  cpuPostgres: number;
  /** Every postgres process (other sessions' backends, WAL writer, checkpointer included). */
  cpuPostgresAll: number;
  cpuEngine: number;
  cpuMachine: number;
  load1: number;
  code: number;
}

async function timed(cat: CatalogueInfo, cli: string[], expect: number[] | 'any'): Promise<{ t: Timed; run: CliRun; json: Record<string, unknown> }> {
  const l = load1();
  const backends = new BackendCpu(cat.database).start();
  const before = cpuSnapshot();
  const run = await runCli(cli, env(cat));
  const cpu = cpuDelta(before, cpuSnapshot());
  const cpuPostgres = backends.stop();
  if (expect !== 'any' && !expect.includes(run.code)) throw new Error(`movies ${cli.join(' ')} exited ${run.code} (expected ${expect.join(' or ')}): ${run.stderr.slice(-2000)}`);
  const t: Timed = {
    seconds: run.seconds,
    peakRssMb: run.peakRssMb,
    cpuCli: run.cpuSeconds,
    cpuPostgres,
    cpuPostgresAll: cpu.postgres,
    cpuEngine: cpu.engine,
    cpuMachine: cpu.machineBusy,
    load1: l,
    code: run.code,
  };
  return { t, run, json: run.json ?? {} };
}

const fmtT = (t: Timed) =>
  `${t.seconds.toFixed(1)} s, RSS ${t.peakRssMb.toFixed(0)} MB, CPU cli ${t.cpuCli.toFixed(1)} pg ${t.cpuPostgres.toFixed(1)} (all ${t.cpuPostgresAll.toFixed(1)}) engine ${t.cpuEngine.toFixed(1)} machine ${t.cpuMachine.toFixed(1)}, load ${t.load1}`;

interface VerifyJson {
  drift?: number;
  indexes?: { movies?: { database?: number; indexed?: number; missing?: { count?: number }; stale?: { count?: number }; orphan?: { count?: number }; pending?: number; changing?: number; seconds?: number; repaired?: { enqueued?: number } } };
}

/** A timed verify; `drift` is the number of drifted documents it must report. */
async function verifyRun(cat: CatalogueInfo, extra: string[], drift: number) {
  const r = await timed(cat, ['--json', '--quiet', 'verify', ...verifyArgs, ...extra], [drift === 0 ? 0 : 11]);
  const j = r.json as VerifyJson;
  const m = j.indexes?.movies ?? {};
  if (j.drift !== drift) throw new Error(`verify ${extra.join(' ')} reported drift ${j.drift}, expected ${drift}`);
  if (m.database !== cat.films) throw new Error(`verify compared ${m.database} documents, expected ${cat.films}`);
  return {
    ...r.t,
    drift: j.drift,
    missing: m.missing?.count ?? NaN,
    stale: m.stale?.count ?? NaN,
    orphan: m.orphan?.count ?? NaN,
    pending: m.pending ?? NaN,
    changing: m.changing ?? NaN,
    indexed: m.indexed ?? NaN,
    verifySeconds: m.seconds ?? NaN,
    enqueued: m.repaired?.enqueued,
  };
}

// ---------------------------------------------------------------- plain HTTP
async function http<T>(url: string, init: RequestInit = {}): Promise<T> {
  const r = await fetch(url, { headers: { 'content-type': 'application/json' }, ...init, signal: AbortSignal.timeout(120_000) });
  if (!r.ok) throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${r.status} ${(await r.text()).slice(0, 500)}`);
  return (await r.json()) as T;
}

async function query<T extends pg.QueryResultRow>(cat: CatalogueInfo, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: cat.url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------- each side alone
/** The database's expected pages alone, with verify's own query, in this process. */
async function expectedSide(cat: CatalogueInfo, page: number) {
  const db = createDb(cat.url, { timeouts: { connectMs: 10_000, statementMs: 600_000 } });
  const backends = new BackendCpu(cat.database).start();
  const before = cpuSnapshot();
  const self = process.cpuUsage();
  const t = performance.now();
  let rows = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  try {
    for (;;) {
      const p = await expectedPage(db, filmsIndex, after, page);
      rows += p.length;
      if (p.length < page) break;
      after = p[p.length - 1]!.id;
    }
  } finally {
    await db.destroy();
  }
  const seconds = (performance.now() - t) / 1000;
  const u = process.cpuUsage(self);
  const cpu = cpuDelta(before, cpuSnapshot());
  return { seconds, rows, cpuPostgres: backends.stop(), cpuPostgresAll: cpu.postgres, cpuClient: (u.user + u.system) / 1e6, cpuMachine: cpu.machineBusy, usPerFilmPostgres: 0 };
}

/** The engine's sorted pages alone: search_after on id, ids and hashes from doc values. */
async function engineSide(physical: string, page: number) {
  await http(`${engineUrl()}/${physical}/_refresh`, { method: 'POST' });
  const before = cpuSnapshot();
  const self = process.cpuUsage();
  const t = performance.now();
  let rows = 0;
  let after: string | undefined;
  for (;;) {
    const r = await http<{ hits: { hits: Array<{ fields?: { id?: string[] } }> } }>(`${engineUrl()}/${physical}/_search`, {
      method: 'POST',
      body: JSON.stringify(stampsBody({ after, size: page, hashField: HASH_FIELD })),
    });
    const hits = r.hits.hits;
    rows += hits.length;
    if (hits.length < page) break;
    after = hits[hits.length - 1]!.fields!.id![0];
  }
  const seconds = (performance.now() - t) / 1000;
  const u = process.cpuUsage(self);
  const cpu = cpuDelta(before, cpuSnapshot());
  return { seconds, rows, cpuEngine: cpu.engine, cpuClient: (u.user + u.system) / 1e6, cpuMachine: cpu.machineBusy };
}

// ---------------------------------------------------------------- main
const gitHead = () => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return process.env.BENCH_COMMIT ?? 'unknown';
  }
};
const info = await machine();
const started = new Date();
const out: Record<string, unknown> = {
  name: args.name,
  kind: 'verify',
  started: started.toISOString(),
  commit: gitHead(),
  options: { sizes, runs, largeRuns, pages, pageRounds, drift: driftDocs, driftRounds, verifyArgs, sides: args.sides, seed, alias: ALIAS, only: 'movies' },
  machine: info,
  sizes: [] as unknown[],
};
const save = () => {
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${args.name}.json`), JSON.stringify({ ...out, finished: new Date().toISOString() }, null, 2) + '\n');
};
log(`machine: ${JSON.stringify(info)}; sizes ${sizes.join(',')}, runs ${runs} (large ${largeRuns}), commit ${String(out.commit)}`);

const medians = (rs: Array<Record<string, unknown>>) => {
  const keys = Object.keys(rs[0] ?? {}).filter((k) => rs.every((r) => typeof r[k] === 'number'));
  return Object.fromEntries(keys.map((k) => [k, median(rs.map((r) => r[k] as number))]));
};

for (const [i, films] of sizes.entries()) {
  const cat = await ensureCatalogue(label(films), films, seed, log);
  const size: Record<string, unknown> = { films, catalogue: { database: cat.database, loadSeconds: cat.loadSeconds, rows: cat.rows, reused: cat.reused } };
  (out.sizes as unknown[]).push(size);
  const n = films >= 1_000_000 ? largeRuns : runs;
  const rounds: Array<{ round: number; init: Timed & { docsPerSecond: number }; verify: Awaited<ReturnType<typeof verifyRun>>; status: Timed }> = [];
  size.rounds = rounds;
  let physical = '';
  try {
    await dropAlias(cat.url, engineUrl(), ALIAS);
    for (let round = 1; round <= n; round++) {
      const init = await timed(cat, ['--json', '--quiet', 'init-es', '--keep', '0'], [0]);
      if (Number(init.json.indexed) !== films) throw new Error(`init-es indexed ${String(init.json.indexed)}, expected ${films}`);
      physical = String(init.json.physical);
      log(`${label(films)} round ${round}: init-es ${fmtT(init.t)}`);
      const v = await verifyRun(cat, [], 0);
      log(`${label(films)} round ${round}: verify ${fmtT(v)}`);
      const status = await timed(cat, ['--json', '--quiet', 'status'], 'any');
      log(`${label(films)} round ${round}: status ${fmtT(status.t)} (exit ${status.t.code})`);
      rounds.push({ round, init: { ...init.t, docsPerSecond: films / init.t.seconds }, verify: v, status: status.t });
      size.median = {
        init: medians(rounds.map((r) => ({ ...r.init }))),
        verify: medians(rounds.map((r) => ({ ...r.verify }))),
        status: medians(rounds.map((r) => ({ ...r.status }))),
        ratio: median(rounds.map((r) => r.verify.seconds / r.init.seconds)),
      };
      save();
    }

    if (i === 0 && pages.length > 0) {
      const sweep: Array<Record<string, unknown>> = [];
      size.pages = sweep;
      for (let round = 1; round <= pageRounds; round++) {
        const order = pages.map((_, k) => pages[(k + round - 1) % pages.length]!);
        for (const page of order) {
          const v = await verifyRun(cat, ['--page', String(page)], 0);
          log(`${label(films)} verify --page ${page}: ${fmtT(v)}`);
          sweep.push({ page, round, ...v });
          save();
        }
      }
    }

    if (i === 0 && driftDocs > 0) {
      const every = Math.floor(films / driftDocs);
      const ids = (
        await query<{ id: string }>(
          cat,
          `SELECT id::text FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM content.film_work) f WHERE n % $1 = 0 ORDER BY id LIMIT $2`,
          [every, driftDocs],
        )
      ).map((r) => r.id);
      const body = ids.map((id) => `{"delete":{"_index":${JSON.stringify(physical)},"_id":${JSON.stringify(id)}}}\n`).join('');
      const driftRuns: Array<Record<string, unknown>> = [];
      size.drift = { documents: driftDocs, every, rounds: driftRuns };
      // Each round ends in step again, so its last verify is the clean run next to the drifted one.
      for (let round = 1; round <= driftRounds; round++) {
        const b = await http<{ items: Array<{ delete: { status: number } }> }>(`${engineUrl()}/_bulk?refresh=true`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/x-ndjson' },
        });
        const deleted = b.items.filter((x) => x.delete.status === 200).length;
        if (deleted !== driftDocs) throw new Error(`deleted ${deleted} documents, expected ${driftDocs}`);
        const found = await verifyRun(cat, [], driftDocs);
        if (found.missing !== driftDocs) throw new Error(`verify found ${found.missing} missing, expected ${driftDocs}`);
        log(`${label(films)} drift round ${round}: verify with ${driftDocs} missing: ${fmtT(found)}`);
        const repaired = await verifyRun(cat, ['--repair'], driftDocs);
        if (repaired.enqueued !== driftDocs) throw new Error(`verify --repair enqueued ${repaired.enqueued}, expected ${driftDocs}`);
        log(`${label(films)} drift round ${round}: verify --repair: ${fmtT(repaired)}`);
        const etl = await timed(cat, ['--json', '--quiet', 'start-etl'], [0]);
        if (Number(etl.json.indexed) !== driftDocs) throw new Error(`start-etl indexed ${String(etl.json.indexed)}, expected ${driftDocs}`);
        const clean = await verifyRun(cat, [], 0);
        log(`${label(films)} drift round ${round}: verify after the repair: ${fmtT(clean)}`);
        driftRuns.push({ round, found, repaired, startEtl: { ...etl.t, indexed: Number(etl.json.indexed) }, after: clean });
        save();
      }
    }

    if (args.sides) {
      const e = await expectedSide(cat, DEFAULT_PAGE);
      e.usPerFilmPostgres = (e.cpuPostgres / e.rows) * 1e6;
      log(`${label(films)} expected side alone: ${e.seconds.toFixed(1)} s, ${e.rows} rows, pg ${e.cpuPostgres.toFixed(1)} s (${e.usPerFilmPostgres.toFixed(0)} µs/film), client ${e.cpuClient.toFixed(1)} s`);
      const x = await engineSide(physical, DEFAULT_PAGE);
      log(`${label(films)} engine side alone: ${x.seconds.toFixed(1)} s, ${x.rows} rows, engine ${x.cpuEngine.toFixed(1)} s, client ${x.cpuClient.toFixed(1)} s`);
      size.sides = { page: DEFAULT_PAGE, expected: e, engine: x };
      save();
    }
  } finally {
    await dropAlias(cat.url, engineUrl(), ALIAS).catch((err: Error) => log(`cleanup: ${err.message}`));
  }
  save();
}
log(`wrote bench/results/${args.name}.json`);
