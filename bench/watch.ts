/*
 * Issue 11's acceptance figure: commit-to-searchable latency of `movies start-etl --watch`.
 *
 *   npm run bench:watch [-- --films 100000] [--rates 10,100,500] [--seconds 60] [--rounds 2]
 *                       [--engines opensearch,elasticsearch] [--idle 30] [--every 25]
 *                       [--rss-minutes 10] [--rss-rate 100] [--rss-engine opensearch] [--name watch-latency]
 *                       [--per-connection 10] [--async-commit] [--capture triggers|logical]
 *
 * Per engine, one session: `movies init-es` of alias bench_watch on the --films catalogue (the
 * database bench:rebuild made, movies_bench_rebuild_<size>, migrated first), then `movies start-etl --watch --metrics-port P` as a child process. In it:
 *   - idle: --idle seconds without writes, the watch's CPU time over them;
 *   - per round and per rate (the order alternates per round): a writer commits rate x --seconds
 *     single-film title updates on one schedule (edit n due at n/rate; autocommit, a prepared
 *     statement, one connection per --per-connection edits/s, each connection taking the next
 *     due edit when free; --async-commit sets synchronous_commit off on them), each title unique
 *     and ordered (`w<tag>-<seq>`), each film edited once per run, and takes the time COMMIT
 *     returned and how late each edit was sent against the schedule (lag); a reader searches the alias every --every ms for the titles
 *     still awaited (a range on title.raw from the lowest unseen one, so each search returns
 *     only the window in flight) and takes the time the answer came back as the time it was
 *     seen. Latency = seen - committed, so it includes up to one reader interval plus one
 *     search. After the writer stops, edits unseen 30 s later count as missing;
 *   - idle again after the load;
 * the watch's RSS (VmRSS) and CPU (utime+stime) sampled every second; /metrics read before and
 * after each run (movies_cycle_duration_seconds) and the watch's per-cycle log lines parsed.
 * Then --rss-minutes at --rss-rate on --rss-engine, for RSS over a long run. The alias's
 * indexes and targets are dropped at the end of each session. The reader never refreshes: an
 * edit is seen when the watch's own refresh made it searchable.
 *
 * Env: DATABASE_URL (server only), OPENSEARCH_URL (default :9201), ELASTICSEARCH_URL (default
 * :9200). Results: bench/results/<name>.json (BENCHMARKS.md is written by hand from it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { dropAlias } from './lib/alias.js';
import { ensureCatalogue, type CatalogueInfo } from './lib/catalogue.js';
import { load1, machine, mustRun, ROOT } from './lib/measure.js';

const { values: args } = parseArgs({
  options: {
    films: { type: 'string', default: '100000' },
    rates: { type: 'string', default: '10,100,500' },
    seconds: { type: 'string', default: '60' },
    rounds: { type: 'string', default: '2' },
    engines: { type: 'string', default: 'opensearch,elasticsearch' },
    idle: { type: 'string', default: '30' },
    every: { type: 'string', default: '25' },
    'rss-minutes': { type: 'string', default: '10' },
    'rss-rate': { type: 'string', default: '100' },
    'rss-engine': { type: 'string', default: 'opensearch' },
    seed: { type: 'string', default: '1' },
    name: { type: 'string', default: 'watch-latency' },
    'per-connection': { type: 'string', default: '10' },
    'async-commit': { type: 'boolean', default: false },
    capture: { type: 'string', default: 'triggers' },
  },
});
const films = Number(args.films);
const rates = args.rates!.split(',').map(Number);
const runMs = Number(args.seconds) * 1000;
const rounds = Number(args.rounds);
const idleMs = Number(args.idle) * 1000;
const everyMs = Number(args.every);
const ALIAS = 'bench_watch';
const METRICS_PORT = 9464;
/** An edit not seen this long after the writer stopped is missing. */
const GRACE_MS = 30_000;
/** Target edits/s per writer connection: 10 gives 50 connections at 500/s, so a connection has 100 ms per commit. */
const PER_CONNECTION = Number(args['per-connection']);
/** SET synchronous_commit = off on the writer's connections (not the default; reported per run). */
const asyncCommit = args['async-commit']!;
const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);

type Kind = 'opensearch' | 'elasticsearch';
interface Engine {
  kind: Kind;
  url: string;
  initArgs: string[];
}
const ENGINES: Record<Kind, Engine> = {
  opensearch: { kind: 'opensearch', url: process.env.OPENSEARCH_URL ?? 'http://127.0.0.1:9201', initArgs: [] },
  // The Elasticsearch test archive has no stemmer analysis module.
  elasticsearch: { kind: 'elasticsearch', url: process.env.ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200', initArgs: ['--mapping', 'nostem'] },
};
const cliEnv = (cat: CatalogueInfo, e: Engine) => ({ DATABASE_URL: cat.url, ELASTICSEARCH_URL: e.url, MOVIES_INDEX: ALIAS, MOVIES_ONLY: 'movies' });

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

// ---------------------------------------------------------------- the watch process
const TICKS = 100; // USER_HZ on Linux
function procSample(pid: number): { rssMb: number; cpuS: number } | undefined {
  try {
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { rssMb: Number(rss?.[1]) / 1024, cpuS: (Number(f[11]) + Number(f[12])) / TICKS };
  } catch {
    return undefined;
  }
}

interface CycleLine {
  at: number;
  indexed: number;
  ms: number;
}
class Watch {
  child: ChildProcess;
  cycles: CycleLine[] = [];
  other: string[] = [];
  samples: Array<{ at: number; rssMb: number; cpuS: number }> = [];
  private timer: NodeJS.Timeout;
  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [join(ROOT, 'bin/movies'), 'start-etl', '--watch', '--metrics-port', String(METRICS_PORT)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /indexed (\d+).*cycle (\d+) ms/.exec(line);
        if (m) this.cycles.push({ at: performance.now(), indexed: Number(m[1]), ms: Number(m[2]) });
        else if (this.other.length < 200) this.other.push(line);
      }
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.timer = setInterval(() => {
      const s = procSample(this.child.pid!);
      if (s) this.samples.push({ at: performance.now(), ...s });
    }, 1000);
  }
  now() {
    return procSample(this.child.pid!)!;
  }
  async stop(): Promise<number | null> {
    clearInterval(this.timer);
    const exited = new Promise<number | null>((r) => this.child.once('exit', (c) => r(c)));
    this.child.kill('SIGTERM');
    return exited;
  }
}

async function metrics(): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(movies_(?:cycle_duration_seconds\w*|pending_documents|documents_indexed_total|failures_total)(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

async function ready(): Promise<void> {
  const deadline = performance.now() + 300_000;
  while (performance.now() < deadline) {
    try {
      const h = await fetch(`http://127.0.0.1:${METRICS_PORT}/healthz`);
      const m = await metrics();
      const pending = Object.entries(m).filter(([k]) => k.startsWith('movies_pending_documents'));
      if (h.ok && pending.length > 0 && pending.every(([, v]) => v === 0)) return;
    } catch {
      /* not listening yet */
    }
    await sleep(500);
  }
  throw new Error('the watch did not become healthy with nothing pending within 300 s');
}

// ---------------------------------------------------------------- one measured run
interface Edit {
  /** When the schedule wanted it sent. */
  due: number;
  sent: number;
  committed?: number;
  seen?: number;
  failed?: boolean;
}

const title = (tag: string, seq: number) => `w${tag}-${String(seq).padStart(7, '0')}`;

const UPDATE = 'UPDATE content.film_work SET title = $1, modified = now() WHERE id = $2';

async function run(cat: CatalogueInfo, e: Engine, w: Watch, ids: string[], cursor: { i: number }, tag: string, rate: number, ms: number) {
  const total = Math.round((rate * ms) / 1000);
  const edits: Edit[] = [];
  const conns = Math.max(1, Math.ceil(rate / PER_CONNECTION));
  const clients = await Promise.all(
    Array.from({ length: conns }, async () => {
      const c = new pg.Client({ connectionString: cat.url });
      await c.connect();
      if (asyncCommit) await c.query('SET synchronous_commit = off');
      return c;
    }),
  );
  const m0 = await metrics();
  const p0 = w.now();
  const samples0 = w.samples.length;
  const cycles0 = w.cycles.length;
  const l0 = load1();
  const start = performance.now();
  const period = 1000 / rate;

  // Writer: edit `seq` is due at start + seq/rate, one global schedule. Each connection claims
  // the next edit, waits for its due time and commits it; so the schedule does not depend on
  // one connection's round trip (the earlier per-connection slots lost a slot whenever a commit
  // took longer than 40 ms). A late edit is sent as soon as a connection is free, and how late
  // is reported (lag), so a writer that cannot keep up shows as lag and a lower achieved rate.
  // Each edit is still its own autocommitted statement, so each has its own commit time; the
  // statement is prepared once per connection (named query).
  let claimed = 0;
  const writers = clients.map(async (c) => {
    while (claimed < total) {
      const seq = claimed++;
      const due = start + seq * period;
      const edit: Edit = { due, sent: 0 };
      edits[seq] = edit;
      const id = ids[cursor.i++ % ids.length]!;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      edit.sent = performance.now();
      try {
        await c.query({ name: 'watch-edit', text: UPDATE, values: [title(tag, seq), id] });
        edit.committed = performance.now();
      } catch {
        edit.failed = true;
      }
    }
  });
  const stop = { reader: false };

  // Reader: the window of titles from the lowest unseen one, sorted, every everyMs.
  let low = 0;
  const searchMs: number[] = [];
  let searchFailures = 0;
  const reader = (async () => {
    while (!stop.reader) {
      const t = performance.now();
      while (low < edits.length && (edits[low]!.seen !== undefined || edits[low]!.failed || (edits[low]!.committed !== undefined && t - edits[low]!.committed! > GRACE_MS))) low++;
      if (low < edits.length) {
        try {
          const r = await fetch(`${e.url}/${ALIAS}/_search`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              size: 10_000,
              _source: ['title'],
              sort: [{ 'title.raw': 'asc' }],
              query: { range: { 'title.raw': { gte: title(tag, low), lt: `w${tag}-~` } } },
            }),
            signal: AbortSignal.timeout(10_000),
          });
          const got = performance.now();
          if (!r.ok) throw new Error(`HTTP ${r.status}`);
          const j = (await r.json()) as { hits: { hits: Array<{ _source: { title: string } }> } };
          for (const h of j.hits.hits) {
            const ed = edits[Number(h._source.title.slice(h._source.title.lastIndexOf('-') + 1))];
            if (ed && ed.seen === undefined) ed.seen = got;
          }
          searchMs.push(got - t);
        } catch {
          searchFailures++;
        }
      } else if (claimed >= total) break;
      const wait = t + everyMs - performance.now();
      if (wait > 0) await sleep(wait);
    }
  })();

  await Promise.all(writers);
  const writeEnd = performance.now();
  await Promise.all(clients.map((c) => c.end()));
  const graceEnd = writeEnd + GRACE_MS;
  while (performance.now() < graceEnd && edits.some((x) => !x.failed && x.seen === undefined)) await sleep(100);
  stop.reader = true;
  await reader;
  const m1 = await metrics();
  const p1 = w.now();

  const ok = edits.filter((x) => !x.failed);
  const lat = ok.filter((x) => x.seen !== undefined).map((x) => x.seen! - x.committed!);
  const commitMs = ok.map((x) => x.committed! - x.sent);
  const lagMs = edits.map((x) => x.sent - x.due);
  const cyc = w.cycles.slice(cycles0).filter((c) => c.at <= writeEnd);
  const samples = w.samples.slice(samples0);
  const dCycles = (m1['movies_cycle_duration_seconds_count'] ?? 0) - (m0['movies_cycle_duration_seconds_count'] ?? 0);
  const dSum = (m1['movies_cycle_duration_seconds_sum'] ?? 0) - (m0['movies_cycle_duration_seconds_sum'] ?? 0);
  return {
    engine: e.kind,
    tag,
    rate,
    seconds: ms / 1000,
    writerConnections: conns,
    edits: edits.length,
    editsPerSecond: r1(edits.length / ((writeEnd - start) / 1000)),
    failedEdits: edits.length - ok.length,
    missing: ok.length - lat.length,
    negative: lat.filter((x) => x < 0).length,
    p50Ms: Math.round(pct(lat, 50)),
    p90Ms: Math.round(pct(lat, 90)),
    p99Ms: Math.round(pct(lat, 99)),
    maxMs: Math.round(Math.max(...lat)),
    asyncCommit,
    lagP50Ms: r1(pct(lagMs, 50)),
    lagP99Ms: r1(pct(lagMs, 99)),
    lagMaxMs: r1(Math.max(...lagMs)),
    commitP50Ms: r1(pct(commitMs, 50)),
    commitP99Ms: r1(pct(commitMs, 99)),
    searches: searchMs.length,
    searchFailures,
    searchP50Ms: r1(pct(searchMs, 50)),
    searchP99Ms: r1(pct(searchMs, 99)),
    cycles: dCycles,
    cycleMeanMs: r1((dSum / Math.max(1, dCycles)) * 1000),
    cycleLogP50Ms: pct(cyc.map((c) => c.ms), 50),
    cycleLogP99Ms: pct(cyc.map((c) => c.ms), 99),
    docsPerCycleP50: pct(cyc.map((c) => c.indexed), 50),
    docsPerCycleMax: Math.max(0, ...cyc.map((c) => c.indexed)),
    failuresDuring: (m1['movies_failures_total{kind="outage"}'] ?? 0) - (m0['movies_failures_total{kind="outage"}'] ?? 0),
    watchCpuPercent: r1(((p1.cpuS - p0.cpuS) / ((performance.now() - start) / 1000)) * 100),
    watchRssStartMb: r1(p0.rssMb),
    watchRssPeakMb: r1(Math.max(p0.rssMb, ...samples.map((s) => s.rssMb))),
    watchRssEndMb: r1(p1.rssMb),
    rssByMinuteMb: rssByMinute(samples),
    load1Before: l0,
    load1After: load1(),
  };
}

/** Median and max VmRSS of each minute of samples. */
function rssByMinute(samples: Array<{ at: number; rssMb: number }>) {
  if (samples.length === 0) return [];
  const out: Array<{ minute: number; medianMb: number; maxMb: number }> = [];
  const t0 = samples[0]!.at;
  for (let m = 0; ; m++) {
    const xs = samples.filter((s) => s.at - t0 >= m * 60_000 && s.at - t0 < (m + 1) * 60_000).map((s) => s.rssMb);
    if (xs.length === 0) break;
    out.push({ minute: m + 1, medianMb: r1(pct(xs, 50)), maxMb: r1(Math.max(...xs)) });
  }
  return out;
}

async function idle(w: Watch, ms: number) {
  const a = w.now();
  const t = performance.now();
  const l0 = load1();
  await sleep(ms);
  const b = w.now();
  const s = (performance.now() - t) / 1000;
  return { seconds: r1(s), cpuSeconds: Math.round((b.cpuS - a.cpuS) * 100) / 100, cpuPercent: Math.round(((b.cpuS - a.cpuS) / s) * 1000) / 10, rssMb: r1(b.rssMb), load1Before: l0, load1After: load1() };
}

// ---------------------------------------------------------------- main
const info = await machine();
log(`machine: ${JSON.stringify(info)}`);
const cat = await ensureCatalogue(`rebuild_${films % 1000 === 0 ? `${films / 1000}k` : films}`, films, Number(args.seed), log);
// --capture logical (a server with wal_level = logical): the watch streams the slot instead of the triggers queueing.
await mustRun(['--quiet', 'migrate', '--capture', args.capture!], { DATABASE_URL: cat.url });
const idsDb = new pg.Client({ connectionString: cat.url });
await idsDb.connect();
// A fixed shuffle, so that each run edits films no other run of its session has just edited.
const ids = (await idsDb.query<{ id: string }>('SELECT id FROM content.film_work ORDER BY md5(id::text)')).rows.map((r) => r.id);
await idsDb.end();
const cursor = { i: 0 };
const sessions: unknown[] = [];
const out = join(ROOT, 'bench/results', `${args.name}.json`);
const save = () => {
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(out, JSON.stringify({ name: args.name, started: new Date().toISOString(), options: args, machine: info, catalogue: { database: cat.database, films: cat.films }, sessions }, null, 2) + '\n');
};

async function session(e: Engine, plan: Array<{ rate: number; ms: number; tag: string }>) {
  const env = cliEnv(cat, e);
  await dropAlias(cat.url, e.url, ALIAS);
  const init = await mustRun(['--json', '--quiet', 'init-es', ...e.initArgs], env);
  log(`${e.kind}: init-es ${init.seconds.toFixed(1)} s`);
  const w = new Watch(env);
  const s: Record<string, unknown> = { engine: e.kind, version: ((await (await fetch(e.url)).json()) as { version: { number: string } }).version.number, initSeconds: r1(init.seconds), runs: [] as unknown[] };
  sessions.push(s);
  try {
    await ready();
    s.idleBefore = await idle(w, idleMs);
    log(`${e.kind}: idle ${JSON.stringify(s.idleBefore)}`);
    for (const p of plan) {
      const r = await run(cat, e, w, ids, cursor, p.tag, p.rate, p.ms);
      (s.runs as unknown[]).push(r);
      const { rssByMinuteMb: _, ...brief } = r;
      log(`${e.kind}: ${JSON.stringify(brief)}`);
      save();
    }
    s.idleAfter = await idle(w, idleMs);
    log(`${e.kind}: idle after ${JSON.stringify(s.idleAfter)}`);
  } finally {
    s.exitCode = await w.stop();
    s.watchLog = w.other.slice(0, 50);
    await dropAlias(cat.url, e.url, ALIAS).catch((err: Error) => log(`cleanup ${e.kind}: ${err.message}`));
    save();
  }
}

for (const kind of args.engines!.split(',') as Kind[]) {
  const e = ENGINES[kind];
  if (!e) throw new Error(`unknown engine ${kind}`);
  const plan = [];
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? rates : [...rates].reverse();
    // The plan index too: a rate listed twice in one round must not reuse the titles of its first run.
    for (const rate of order) plan.push({ rate, ms: runMs, tag: `${kind[0]}${Date.now().toString(36)}r${round}x${rate}n${plan.length}` });
  }
  await session(e, plan);
}
const rssMinutes = Number(args['rss-minutes']);
if (rssMinutes > 0) {
  const e = ENGINES[args['rss-engine'] as Kind];
  await session(e, [{ rate: Number(args['rss-rate']), ms: rssMinutes * 60_000, tag: `${e.kind[0]}${Date.now().toString(36)}long` }]);
}
save();
log(`wrote ${out}`);
