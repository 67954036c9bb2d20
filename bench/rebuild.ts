/*
 * A rebuild without downtime: searches, edits and cron runs during `init-es`.
 *
 *   npm run bench:rebuild [-- --films 100000] [--runs 3] [--engines opensearch,elasticsearch]
 *                         [--rate 20] [--every 50] [--cron 3] [--baseline 0] [--name rebuild-100k]
 *
 * Per engine, once: an initial `movies init-es` of alias bench_rebuild on a catalogue of --films
 * films (database movies_bench_rebuild_<size>, the bench's direct loader, reused by later runs).
 * Then --runs rounds, engines interleaved (the order alternates per round), each round one
 * rebuild per engine: a second `init-es` while
 *   - a reader searches the alias every --every ms over plain HTTP (match_all, size 1,
 *     track_total_hits) and records failures (network errors, non-2xx, timed_out, failed shards),
 *     the hit count and which concrete index answered;
 *   - a writer updates --rate random films per second in PostgreSQL (one UPDATE of the title per
 *     statement, autocommit) and records the ids and the titles written;
 *   - `movies start-etl` runs every --cron seconds, as cron would, so the old index keeps up.
 * After init-es exits: the writer and cron stop, one `start-etl` runs, the alias is refreshed, and
 * an independent reading (plain SQL and plain HTTP, not the project's code) checks that every
 * edited film's document in the alias has the database's current title, that the alias points to
 * exactly the new concrete index init-es reported, and that it holds one document per film.
 * --baseline S first runs the same reader, writer and cron for S seconds without a rebuild, for
 * the latencies to compare with (baseline* fields).
 *
 * Env: DATABASE_URL (server only), OPENSEARCH_URL (default :9201), ELASTICSEARCH_URL (default
 * :9200). On Elasticsearch init-es gets --mapping nostem (the test archive lacks the stemmer
 * module). The alias's indexes and targets are deleted at the end. Results:
 * bench/results/<name>.json, and BENCHMARKS.md's generated section is rewritten.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { dropAlias } from './lib/alias.js';
import { ensureCatalogue, type CatalogueInfo } from './lib/catalogue.js';
import { load1, machine, median, mustRun, ROOT, runCli } from './lib/measure.js';
import { writeReport } from './lib/report.js';
import type { Measurement, Sample } from './run.js';

const { values: args } = parseArgs({
  options: {
    films: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    engines: { type: 'string', default: 'opensearch,elasticsearch' },
    rate: { type: 'string', default: '20' },
    every: { type: 'string', default: '50' },
    cron: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    name: { type: 'string' },
    baseline: { type: 'string', default: '0' },
  },
});
const films = Number(args.films);
const runs = Number(args.runs);
const rate = Number(args.rate);
const everyMs = Number(args.every);
const cronMs = Number(args.cron) * 1000;
const baselineMs = Number(args.baseline) * 1000;
const seed = Number(args.seed);
const label = (n: number) => (n % 1_000_000 === 0 ? `${n / 1_000_000}m` : n % 1000 === 0 ? `${n / 1000}k` : String(n));
const name = args.name ?? `rebuild-${label(films)}`;
const ALIAS = 'bench_rebuild';
const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);

interface Engine {
  kind: 'opensearch' | 'elasticsearch';
  url: string;
  initArgs: string[];
  version?: string;
}
const ENGINES: Record<Engine['kind'], Engine> = {
  opensearch: { kind: 'opensearch', url: process.env.OPENSEARCH_URL ?? 'http://127.0.0.1:9201', initArgs: [] },
  // The Elasticsearch test archive has no stemmer analysis module.
  elasticsearch: { kind: 'elasticsearch', url: process.env.ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200', initArgs: ['--mapping', 'nostem'] },
};
const engines = args.engines!.split(',').map((e) => {
  const x = ENGINES[e.trim() as Engine['kind']];
  if (!x) throw new Error(`unknown engine ${e}`);
  return x;
});

const cliEnv = (cat: CatalogueInfo, e: Engine) => ({
  DATABASE_URL: cat.url,
  ELASTICSEARCH_URL: e.url,
  MOVIES_INDEX: ALIAS,
  MOVIES_ONLY: 'movies',
});

// ---------------------------------------------------------------- plain HTTP
async function http<T>(url: string, init: RequestInit = {}): Promise<T> {
  const r = await fetch(url, { ...init, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(30_000) });
  if (!r.ok) throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${r.status} ${(await r.text()).slice(0, 500)}`);
  return (await r.json()) as T;
}
const aliasIndexes = async (e: Engine) => Object.keys(await http<Record<string, unknown>>(`${e.url}/_alias/${ALIAS}`)).sort();

// ---------------------------------------------------------------- reader
interface ReaderStats {
  searches: number;
  failed: number;
  failures: string[];
  minCount: number;
  maxCount: number;
  belowFilms: number;
  latencies: number[];
  /** Concrete indexes that answered, in the order first seen. */
  served: string[];
  /** Milliseconds from the reader's start to the first answer from the new index. */
  switchedAtMs?: number;
}

interface SearchBody {
  timed_out?: boolean;
  _shards?: { failed?: number };
  hits?: { total?: { value?: number } | number; hits?: Array<{ _index: string }> };
}

/** One search on the alias every `everyMs` (the next starts on schedule, or at once when late). */
async function reader(e: Engine, stop: { reader: boolean }): Promise<ReaderStats> {
  const s: ReaderStats = { searches: 0, failed: 0, failures: [], minCount: Infinity, maxCount: -Infinity, belowFilms: 0, latencies: [], served: [] };
  const body = JSON.stringify({ size: 1, track_total_hits: true, query: { match_all: {} } });
  const start = performance.now();
  let next = start;
  while (!stop.reader) {
    const t = performance.now();
    s.searches++;
    try {
      const r = await fetch(`${e.url}/${ALIAS}/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(5_000),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`HTTP ${r.status} ${text.slice(0, 200)}`);
      const j = JSON.parse(text) as SearchBody;
      if (j.timed_out) throw new Error('timed_out');
      if ((j._shards?.failed ?? 0) > 0) throw new Error(`${j._shards!.failed} shards failed`);
      const total = j.hits?.total;
      const count = typeof total === 'number' ? total : Number(total?.value);
      if (!Number.isFinite(count)) throw new Error('no hit count');
      s.minCount = Math.min(s.minCount, count);
      s.maxCount = Math.max(s.maxCount, count);
      if (count < films) s.belowFilms++;
      const index = j.hits?.hits?.[0]?._index;
      if (index && !s.served.includes(index)) {
        s.served.push(index);
        if (s.served.length > 1) s.switchedAtMs = t - start;
      }
    } catch (err) {
      s.failed++;
      if (s.failures.length < 20) s.failures.push(`${new Date().toISOString()} ${(err as Error).message}`);
    }
    s.latencies.push(performance.now() - t);
    next += everyMs;
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
    else next = performance.now();
  }
  return s;
}

// ---------------------------------------------------------------- writer
interface WriterStats {
  edits: number;
  failed: number;
  /** The last title written per film. */
  written: Map<string, string>;
  maxMs: number;
  /** Edits slower than SLOW_EDIT_MS: seconds after the writer started (≈ init-es's start) and duration. */
  slow: Array<{ at: number; ms: number }>;
}

const SLOW_EDIT_MS = 250;

/** `rate` single-film UPDATEs per second, each its own transaction, at fixed start times. */
async function writer(cat: CatalogueInfo, ids: string[], tag: string, stop: { writer: boolean }): Promise<WriterStats> {
  const c = new pg.Client({ connectionString: cat.url });
  await c.connect();
  const s: WriterStats = { edits: 0, failed: 0, written: new Map(), maxMs: 0, slow: [] };
  const gap = 1000 / rate;
  const start = performance.now();
  let next = start;
  try {
    while (!stop.writer) {
      const id = ids[Math.floor(Math.random() * ids.length)]!;
      const title = `Rebuild ${tag} edit ${s.edits + 1}`;
      const t = performance.now();
      try {
        await c.query('UPDATE content.film_work SET title = $1, modified = now() WHERE id = $2', [title, id]);
        s.edits++;
        s.written.set(id, title);
      } catch {
        s.failed++;
      }
      const ms = performance.now() - t;
      s.maxMs = Math.max(s.maxMs, ms);
      if (ms > SLOW_EDIT_MS) s.slow.push({ at: (t - start) / 1000, ms });
      next += gap;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
    }
  } finally {
    await c.end();
  }
  return s;
}

// ---------------------------------------------------------------- cron
interface CronStats {
  runs: number;
  /** Exit codes other than 0 (a run meeting init-es's swap under the run lock exits "locked"). */
  nonZero: Record<string, number>;
  indexed: number;
}

async function cron(cat: CatalogueInfo, e: Engine, stop: { cron: boolean }): Promise<CronStats> {
  const s: CronStats = { runs: 0, nonZero: {}, indexed: 0 };
  while (!stop.cron) {
    const r = await runCli(['--json', '--quiet', 'start-etl'], cliEnv(cat, e));
    s.runs++;
    if (r.code !== 0) s.nonZero[String(r.code)] = (s.nonZero[String(r.code)] ?? 0) + 1;
    else s.indexed += Number(r.json?.indexed ?? 0);
    for (let waited = 0; waited < cronMs && !stop.cron; waited += 100) await sleep(100);
  }
  return s;
}

// ---------------------------------------------------------------- independent check
interface Check {
  editedFilms: number;
  /** Edited films whose document in the alias is absent or has another title than the database. */
  missing: number;
  /** Edited films whose database title is not the writer's last one (another writer?): should be 0. */
  writerMismatch: number;
  aliasIndexes: string[];
  aliasOk: boolean;
  count: number;
  examples: string[];
}

async function check(cat: CatalogueInfo, e: Engine, w: WriterStats, physical: string): Promise<Check> {
  const ids = [...w.written.keys()];
  const c = new pg.Client({ connectionString: cat.url });
  await c.connect();
  const db = new Map<string, string>();
  try {
    const r = await c.query<{ id: string; title: string }>('SELECT id::text, title FROM content.film_work WHERE id = ANY($1::uuid[])', [ids]);
    for (const row of r.rows) db.set(row.id, row.title);
  } finally {
    await c.end();
  }
  await http(`${e.url}/${ALIAS}/_refresh`, { method: 'POST' });
  const indexed = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    const r = await http<{ hits: { hits: Array<{ _id: string; _source: { title?: string } }> } }>(`${e.url}/${ALIAS}/_search`, {
      method: 'POST',
      body: JSON.stringify({ size: chunk.length, query: { ids: { values: chunk } }, _source: ['title'] }),
    });
    for (const h of r.hits.hits) indexed.set(h._id, h._source.title ?? '');
  }
  let missing = 0;
  let writerMismatch = 0;
  const examples: string[] = [];
  for (const id of ids) {
    if (db.get(id) !== w.written.get(id)) writerMismatch++;
    if (indexed.get(id) !== db.get(id)) {
      missing++;
      if (examples.length < 5) examples.push(`${id}: db "${db.get(id)}", index "${indexed.get(id) ?? '(absent)'}"`);
    }
  }
  const now = await aliasIndexes(e);
  const count = Number((await http<{ count: number }>(`${e.url}/${ALIAS}/_count`)).count);
  return { editedFilms: ids.length, missing, writerMismatch, aliasIndexes: now, aliasOk: now.length === 1 && now[0] === physical, count, examples };
}

// ---------------------------------------------------------------- one rebuild under load
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** The same load for `ms` without a rebuild: what the latencies are anyway on this machine. */
async function baseline(cat: CatalogueInfo, e: Engine, ids: string[], ms: number): Promise<Sample> {
  const stop = { reader: false, writer: false, cron: false };
  const readerP = reader(e, stop);
  const writerP = writer(cat, ids, `${e.kind}-baseline-${Date.now()}`, stop);
  const cronP = cron(cat, e, stop);
  await sleep(ms);
  stop.cron = true;
  stop.writer = true;
  const [w] = await Promise.all([writerP, cronP]);
  stop.reader = true;
  const rd = await readerP;
  return {
    baselineSearches: rd.searches,
    baselineFailedSearches: rd.failed,
    baselineSearchP99Ms: pct(rd.latencies, 99),
    baselineSearchMaxMs: Math.max(...rd.latencies),
    baselineEdits: w.edits,
    baselineEditMaxMs: w.maxMs,
    baselineEditsSlow: w.slow.length,
  };
}

async function rebuildUnderLoad(cat: CatalogueInfo, e: Engine, ids: string[], round: number): Promise<Sample> {
  const env = cliEnv(cat, e);
  // Whatever the other engine's round left pending for this one (its targets get every edit too).
  await mustRun(['--quiet', 'start-etl'], env);
  const base = baselineMs > 0 ? await baseline(cat, e, ids, baselineMs) : {};
  if (baselineMs > 0) await mustRun(['--quiet', 'start-etl'], env);
  const before = await aliasIndexes(e);
  const stop = { reader: false, writer: false, cron: false };
  const l = load1();
  const readerP = reader(e, stop);
  const writerP = writer(cat, ids, `${e.kind}-${round}-${Date.now()}`, stop);
  const cronP = cron(cat, e, stop);
  const r = await runCli(['--json', '--quiet', 'init-es', ...e.initArgs], env);
  stop.cron = true;
  stop.writer = true;
  const [w, cr] = await Promise.all([writerP, cronP]);
  if (r.code !== 0) {
    stop.reader = true;
    await readerP;
    throw new Error(`init-es exited ${r.code}: ${r.stderr.slice(-2000)}`);
  }
  // The reader keeps going through the convergence run, then stops.
  const last = await mustRun(['--json', '--quiet', 'start-etl'], env);
  stop.reader = true;
  const rd = await readerP;
  const json = r.json ?? {};
  const physical = String(json.physical);
  const k = await check(cat, e, w, physical);
  const sample: Sample = {
    round,
    rebuildSeconds: r.seconds,
    indexed: Number(json.indexed),
    passes: Number(json.passes),
    pendingAfterSwap: Number(json.pending),
    searches: rd.searches,
    failedSearches: rd.failed,
    minCount: rd.minCount,
    maxCount: rd.maxCount,
    films,
    searchesBelowFilms: rd.belowFilms,
    searchP50Ms: pct(rd.latencies, 50),
    searchP99Ms: pct(rd.latencies, 99),
    searchMaxMs: Math.max(...rd.latencies),
    switchSeenAtSeconds: rd.switchedAtMs === undefined ? NaN : rd.switchedAtMs / 1000,
    edits: w.edits,
    editsFailed: w.failed,
    editsPerSecond: w.edits / r.seconds,
    editMaxMs: w.maxMs,
    editsSlow: w.slow.length,
    // When the slow edits happened: seconds into the rebuild, and how long each took.
    editsSlowAt: w.slow.map((x) => `${x.at.toFixed(1)}s:${Math.round(x.ms)}ms`).join(' '),
    editedFilms: k.editedFilms,
    editsMissing: k.missing,
    writerMismatch: k.writerMismatch,
    cronRuns: cr.runs,
    cronNonZero: Object.entries(cr.nonZero).map(([c, n]) => `${n}×exit ${c}`).join(', ') || 'none',
    cronIndexed: cr.indexed,
    finalStartEtlIndexed: Number(last.json?.indexed ?? NaN),
    countAfter: k.count,
    aliasBefore: before.join(','),
    aliasAfter: k.aliasIndexes.join(','),
    physical,
    aliasOk: k.aliasOk,
    servedBy: rd.served.join(' → '),
    peakRssMb: r.peakRssMb,
    load1: l,
    ...base,
  };
  if (rd.failures.length) log(`${e.kind} round ${round} failures: ${rd.failures.join(' | ')}`);
  if (k.examples.length) log(`${e.kind} round ${round} missing: ${k.examples.join(' | ')}`);
  log(
    `${e.kind} round ${round}: rebuild ${r.seconds.toFixed(1)} s, ${rd.searches} searches, ${rd.failed} failed, ` +
      `min count ${rd.minCount}/${films}, ${w.edits} edits, ${k.missing} missing, alias ${k.aliasOk ? 'ok' : 'WRONG'} (${k.aliasIndexes.join(',')}), ` +
      `cron ${cr.runs} runs (${sample.cronNonZero})`,
  );
  return sample;
}

// ---------------------------------------------------------------- main
const info = await machine();
for (const e of engines) {
  const v = await http<{ version?: { number?: string; distribution?: string } }>(e.url);
  e.version = `${v.version?.distribution ?? 'elasticsearch'} ${v.version?.number ?? '?'}`;
}
info.engine = engines.map((e) => e.version).join(' and ');
log(`machine: ${JSON.stringify(info)}; films=${films} runs=${runs} rate=${rate}/s every=${everyMs} ms cron=${cronMs / 1000} s`);
const started = new Date();
const results: Measurement[] = [];
const samples = new Map<Engine['kind'], Sample[]>(engines.map((e) => [e.kind, []]));
const initial = new Map<Engine['kind'], Sample>();

function summarize(): void {
  results.length = 0;
  for (const e of engines) {
    const rs = samples.get(e.kind)!;
    if (rs.length === 0) continue;
    const keys = Object.keys(rs[0]!).filter((k) => k !== 'round' && rs.every((r) => typeof r[k] === 'number'));
    const med = Object.fromEntries(keys.map((k) => [k, median(rs.map((r) => r[k] as number))]));
    const met = rs.every((r) => r.failedSearches === 0 && (r.minCount as number) >= films && r.editsMissing === 0 && r.aliasOk === true);
    const range = (k: string) => `${Math.min(...rs.map((r) => r[k] as number)).toFixed(1)}–${Math.max(...rs.map((r) => r[k] as number)).toFixed(1)}`;
    results.push({
      id: `rebuild-${e.kind}`,
      title: `init-es rebuild of ${label(films)} films on ${e.version}${e.initArgs.length ? ` (${e.initArgs.join(' ')})` : ''}, reader every ${everyMs} ms, writer ${rate} films/s, start-etl every ${cronMs / 1000} s`,
      films,
      runs: rs,
      median: med,
      target: '0 failed searches, never fewer documents than films, 0 edits missing, alias on the new index',
      met,
      note: `rebuild wall ${range('rebuildSeconds')} s; initial build ${Number(initial.get(e.kind)?.seconds ?? NaN).toFixed(1)} s`,
    });
  }
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${name}.json`),
    JSON.stringify(
      {
        name,
        started: started.toISOString(),
        options: { small: films, large: 0, runs, seed, etlArgs: [], rate, everyMs, cronSeconds: cronMs / 1000, baselineSeconds: baselineMs / 1000, initial: Object.fromEntries(initial) },
        machine: info,
        results,
      },
      null,
      2,
    ) + '\n',
  );
}

const cat = await ensureCatalogue(`rebuild_${label(films)}`, films, seed, log);
const ids = await (async () => {
  const c = new pg.Client({ connectionString: cat.url });
  await c.connect();
  try {
    return (await c.query<{ id: string }>('SELECT id::text FROM content.film_work')).rows.map((r) => r.id);
  } finally {
    await c.end();
  }
})();
if (ids.length !== films) throw new Error(`catalogue has ${ids.length} films, expected ${films}`);

try {
  for (const e of engines) {
    await dropAlias(cat.url, e.url, ALIAS);
    const r = await mustRun(['--json', '--quiet', 'init-es', ...e.initArgs], cliEnv(cat, e));
    initial.set(e.kind, { seconds: r.seconds, indexed: Number(r.json?.indexed), physical: String(r.json?.physical) });
    log(`${e.kind}: initial build ${r.seconds.toFixed(1)} s, ${String(r.json?.indexed)} films into ${String(r.json?.physical)}`);
  }
  for (let round = 1; round <= runs; round++) {
    const order = round % 2 ? engines : [...engines].reverse();
    for (const e of order) {
      samples.get(e.kind)!.push(await rebuildUnderLoad(cat, e, ids, round));
      summarize();
    }
  }
} finally {
  for (const e of engines) await dropAlias(cat.url, e.url, ALIAS).catch((err: Error) => log(`cleanup ${e.kind}: ${err.message}`));
}
summarize();
writeReport(ROOT);
for (const m of results) log(`${m.id}: met=${m.met} ${JSON.stringify(m.median)}`);
log(`wrote bench/results/${name}.json and BENCHMARKS.md`);
