/*
 * npm run bench [-- options]
 *
 *   --quick                 everything at 10k films, 3 runs (a couple of minutes)
 *   --scenarios a,b,...     copy, loaddata, full, noop, rename, etl-sweep (default: all but etl-sweep)
 *   --small N               films for copy/loaddata/full+ceiling (default 100000)
 *   --large N               films for full (RSS), noop and rename (default 1000000; 0 skips)
 *   --runs N                runs per measurement (default 3; noop uses max(5, N))
 *   --name NAME             results file bench/results/NAME.json (default "full" or "quick")
 *   --etl-args "..."        extra init-es / start-etl flags, e.g. "--batch 500 --concurrency 3"
 *
 * Env: DATABASE_URL (only its server is used; databases movies_bench_* are created),
 * OPENSEARCH_URL (default http://127.0.0.1:9201). Aliases are named bench_*; their concrete
 * indexes (bench_*_<timestamp>) and the database's targets for them are deleted after.
 * Every CLI run gets MOVIES_ONLY=movies: the figures are the film index's, as they always were.
 *
 * The full index is `movies init-es --keep 0` (timed): since aliases (issue 10) it builds a new
 * index aside, fills it with the ETL pipeline, catches up and moves the alias; start-etl then
 * finds nothing pending. --keep 0 deletes the previous index, so repeated runs do not pile up.
 * Results go to bench/results/<name>.json; BENCHMARKS.md's generated section is rewritten
 * from every results file.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { generate } from '../src/commands/generate.js';
import { ceilingRun, buildDocuments, engineClient, type CeilingRun, type CeilingSettings } from './lib/ceiling.js';
import { createEmptyDatabase, directLoad, dropDatabase, ensureCatalogue, type CatalogueInfo } from './lib/catalogue.js';
import { dropAlias } from './lib/alias.js';
import { cpuDelta, cpuSnapshot, engineUrl, load1, machine, median, mustRun, ROOT, type CliRun } from './lib/measure.js';
import { writeReport } from './lib/report.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenarios: { type: 'string' },
    small: { type: 'string' },
    large: { type: 'string' },
    runs: { type: 'string' },
    name: { type: 'string' },
    'etl-args': { type: 'string', default: '' },
    seed: { type: 'string', default: '1' },
  },
});

const quick = args.quick ?? false;
const small = Number(args.small ?? (quick ? 10_000 : 100_000));
const large = Number(args.large ?? (quick ? 10_000 : 1_000_000));
const runs = Number(args.runs ?? 3);
const seed = Number(args.seed);
const name = args.name ?? (quick ? 'quick' : 'full');
const scenarios = new Set((args.scenarios ?? 'copy,loaddata,full,noop,rename').split(',').map((s) => s.trim()));
const etlArgs = (args['etl-args'] ?? '').split(/\s+/).filter(Boolean);
const label = (n: number) => (n % 1_000_000 === 0 ? `${n / 1_000_000}m` : n % 1000 === 0 ? `${n / 1000}k` : String(n));
const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);

export interface Sample {
  [k: string]: number | string | boolean | undefined;
}
export interface Measurement {
  id: string;
  title: string;
  films?: number;
  runs: Sample[];
  median: Record<string, number>;
  target?: string;
  met?: boolean;
  note?: string;
}

const results: Measurement[] = [];
const started = new Date();

function summarize(id: string, title: string, runsOut: Sample[], extra: Partial<Measurement> = {}): Measurement {
  const keys = Object.keys(runsOut[0] ?? {}).filter((k) => runsOut.every((r) => typeof r[k] === 'number'));
  const med = Object.fromEntries(keys.map((k) => [k, median(runsOut.map((r) => r[k] as number))]));
  const m: Measurement = { id, title, runs: runsOut, median: med, ...extra };
  results.push(m);
  log(`${id}: ${JSON.stringify(med)}`);
  save();
  return m;
}

function save(): void {
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${name}.json`),
    JSON.stringify({ name, started: started.toISOString(), options: { small, large, runs, seed, etlArgs, scenarios: [...scenarios] }, machine: info, results }, null, 2) + '\n',
  );
}

const env = (db: CatalogueInfo | string, index: string) => ({
  DATABASE_URL: typeof db === 'string' ? db : db.url,
  ELASTICSEARCH_URL: engineUrl(),
  MOVIES_INDEX: index,
  // The film index only (genres and persons would need aliases of their own), as before issue 9.
  MOVIES_ONLY: 'movies',
});

async function startEtl(e: Record<string, string>, extra: string[] = etlArgs): Promise<CliRun & { json: Record<string, unknown> }> {
  const r = await mustRun(['--json', '--quiet', 'start-etl', ...extra], e);
  return r as CliRun & { json: Record<string, unknown> };
}

/**
 * A timed `init-es --keep 0` over every film: a new index created aside, filled, caught up and
 * swapped in (src/lifecycle/rebuild.ts). Until issue 10 this was an untimed init-es (recreate +
 * enqueue) then a timed start-etl; index creation and one alias swap are now inside the time.
 */
async function fullIndex(cat: CatalogueInfo, index: string, extra: string[] = etlArgs): Promise<Sample> {
  const l = load1();
  const before = cpuSnapshot();
  const r = await mustRun(['--json', '--quiet', 'init-es', '--keep', '0', ...extra], env(cat, index));
  const cpu = cpuDelta(before, cpuSnapshot());
  // InitEsResult (src/commands/init-es.ts): the film index's own fields at the top level.
  const json = r.json ?? {};
  const indexed = Number(json.indexed);
  if (indexed !== cat.films) throw new Error(`indexed ${indexed}, expected ${cat.films}`);
  const per1k = (x: number) => (x / indexed) * 1000;
  return {
    seconds: r.seconds,
    docsPerSecond: indexed / r.seconds,
    etlSeconds: Number(json.seconds),
    passes: Number(json.passes),
    peakRssMb: r.peakRssMb,
    cpuCliPer1k: per1k(r.cpuSeconds),
    cpuPostgresPer1k: per1k(cpu.postgres),
    cpuEnginePer1k: per1k(cpu.engine),
    cpuMachinePer1k: per1k(cpu.machineBusy),
    load1: l,
  };
}

/** The alias, its concrete indexes and the catalogue's targets for it. */
async function deleteIndex(cat: CatalogueInfo, index: string): Promise<void> {
  await dropAlias(cat.url, engineUrl(), index);
}

const info = await machine();
log(`machine: ${JSON.stringify(info)}; small=${small} large=${large} runs=${runs}`);

// ---------------------------------------------------------------- generator + direct loader
if (scenarios.has('copy')) {
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    const url = await createEmptyDatabase('movies_bench_copy');
    const l = load1();
    const r = await directLoad(url, small, seed);
    samples.push({ seconds: r.seconds, rows: r.rows, rowsPerSecond: r.rows / r.seconds, films: small, load1: l });
  }
  await dropDatabase('movies_bench_copy');
  summarize('copy', `direct COPY loader, ${label(small)} films (generator → COPY, keys/indexes rebuilt, VACUUM ANALYZE)`, samples, { films: small });
}

// ---------------------------------------------------------------- (f) loaddata
if (scenarios.has('loaddata')) {
  mkdirSync(join(ROOT, 'bench/data'), { recursive: true });
  const file = join(ROOT, `bench/data/films-${label(small)}-seed${seed}.json`);
  if (!existsSync(file)) {
    const t = performance.now();
    const c = await generate({ films: small, seed, out: file });
    const s = (performance.now() - t) / 1000;
    summarize('generate', `movies generate --films ${label(small)} (fixture file)`, [{ seconds: s, objects: c.objects, objectsPerSecond: c.objects / s }], { films: small });
  }
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    const url = await createEmptyDatabase('movies_bench_loaddata');
    const l = load1();
    const r = await mustRun(['--json', '--quiet', 'loaddata', file], { DATABASE_URL: url });
    const objects = Number(r.json?.objects);
    const phases = (r.json?.phases ?? {}) as { stage?: number; check?: number; upsert?: number };
    samples.push({
      seconds: r.seconds,
      objects,
      objectsPerSecond: objects / r.seconds,
      peakRssMb: r.peakRssMb,
      stageSeconds: phases.stage,
      checkSeconds: phases.check,
      upsertSeconds: phases.upsert,
      load1: l,
    });
  }
  await dropDatabase('movies_bench_loaddata');
  const m = summarize('loaddata', `(f) movies loaddata of a ${label(small)}-film fixture (${Number(samples[0]?.objects).toLocaleString('en')} objects)`, samples, {
    films: small,
    target: '≥ 50,000 objects/s, flat memory',
  });
  m.met = m.median.objectsPerSecond! >= 50_000;
}

// ---------------------------------------------------------------- (a) + (b) + (e small)
if (scenarios.has('full')) {
  const cat = await ensureCatalogue(label(small), small, seed, log);
  log(`building the ${label(small)} documents for the ceiling`);
  const docs = await buildDocuments(cat.url);
  // Tune the bulk helper once, then measure at its best settings.
  const tuning: CeilingRun[] = [];
  const candidates: CeilingSettings[] = quick
    ? [{ flushBytes: 5e6, concurrency: 2 }, { flushBytes: 5e6, concurrency: 4 }]
    : [
        { flushBytes: 1e6, concurrency: 2 },
        { flushBytes: 5e6, concurrency: 1 },
        { flushBytes: 5e6, concurrency: 2 },
        { flushBytes: 5e6, concurrency: 4 },
        { flushBytes: 10e6, concurrency: 2 },
        { flushBytes: 10e6, concurrency: 4 },
      ];
  for (const s of candidates) tuning.push(await ceilingRun(docs, 'bench_ceiling', s));
  const best = tuning.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  log(`ceiling tuning: ${tuning.map((t) => `${t.flushBytes / 1e6}MB×${t.concurrency}: ${Math.round(t.docsPerSecond)}/s`).join(', ')}`);
  summarize('ceiling-tuning', `bulk helper settings tried (1 run each), ${label(small)} docs`, tuning.map((t) => ({ ...t })), { films: small });

  const etl: Sample[] = [];
  const ceiling: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    // Interleaved, so that both see the same machine and index state.
    etl.push(await fullIndex(cat, 'bench_full'));
    const l = load1();
    const before = cpuSnapshot();
    const c = await ceilingRun(docs, 'bench_ceiling', best);
    const cpu = cpuDelta(before, cpuSnapshot());
    ceiling.push({
      seconds: c.seconds,
      docsPerSecond: c.docsPerSecond,
      flushBytes: c.flushBytes,
      concurrency: c.concurrency,
      cpuEnginePer1k: (cpu.engine / c.docs) * 1000,
      cpuMachinePer1k: (cpu.machineBusy / c.docs) * 1000,
      load1: l,
    });
  }
  const a = summarize('full', `(a) full index (init-es --keep 0: create aside, fill, swap), ${label(small)} films (child process wall time)`, etl, { films: small });
  const b = summarize('ceiling', `(b) bulk helper ceiling, same ${label(small)} documents prebuilt (flushBytes ${best.flushBytes / 1e6} MB, concurrency ${best.concurrency})`, ceiling, { films: small });
  const ratio = a.median.docsPerSecond! / b.median.docsPerSecond!;
  const ratios = etl.map((e, i) => (e.docsPerSecond as number) / (ceiling[i]!.docsPerSecond as number));
  const r = summarize('ratio', `(a)/(b) docs/s, ${label(small)} films`, ratios.map((x) => ({ ratio: x })), {
    films: small,
    target: '≥ 0.85',
    note: `ratio of medians ${ratio.toFixed(3)}`,
  });
  r.met = r.median.ratio! >= 0.85;
  const e = summarize('rss-small', `(e) peak RSS of a full index, ${label(small)} films`, etl.map((x) => ({ peakRssMb: x.peakRssMb })), {
    films: small,
    target: '< 250 MB',
  });
  e.met = e.median.peakRssMb! < 250;
  await deleteIndex(cat, 'bench_full');
}

// ---------------------------------------------------------------- (e large), (c), (d)
if (large > 0 && (scenarios.has('full') || scenarios.has('noop') || scenarios.has('rename'))) {
  const cat = await ensureCatalogue(label(large), large, seed, log);
  if (!cat.reused) {
    summarize('copy-large', `direct COPY loader, ${label(large)} films (creates the catalogue; 1 run)`, [
      { seconds: cat.loadSeconds, rows: cat.rows, rowsPerSecond: cat.rows / cat.loadSeconds },
    ], { films: large });
  }
  const index = 'bench_large';
  const fullRuns: Sample[] = [];
  if (scenarios.has('full')) {
    for (let i = 0; i < runs; i++) fullRuns.push(await fullIndex(cat, index));
    summarize('full-large', `full index (init-es --keep 0), ${label(large)} films`, fullRuns, { films: large });
    const small = results.find((r) => r.id === 'rss-small');
    const e = summarize('rss-large', `(e) peak RSS of a full index, ${label(large)} films`, fullRuns.map((x) => ({ peakRssMb: x.peakRssMb })), {
      films: large,
      target: `< 250 MB and within 10% of ${small ? `the small run (${small.median.peakRssMb!.toFixed(0)} MB)` : 'the small run'}`,
    });
    e.met = e.median.peakRssMb! < 250 && (!small || e.median.peakRssMb! <= small.median.peakRssMb! * 1.1);
  } else {
    const c = engineClient();
    const exists = (await c.indices.exists({ index })).body === true;
    await c.close();
    if (!exists) {
      fullRuns.push(await fullIndex(cat, index));
      // The reference for the rename's proportionality.
      summarize('full-large', `full index (init-es --keep 0), ${label(large)} films (setup for the scenarios below; 1 run)`, fullRuns, { films: large });
    }
  }
  // Whatever is pending now (normally nothing) is cleared so that noop really has nothing to do.
  // Right after a full index this first run also pays for the change table's dead rows.
  const first = await startEtl(env(cat, index));
  const firstNote = `first run after the full index (not in the median): ${first.seconds.toFixed(2)} s, query ${Number(first.json.queryMs).toFixed(1)} ms`;

  if (scenarios.has('rename')) {
    const c = new pg.Client({ connectionString: cat.url });
    await c.connect();
    const genre = (
      await c.query<{ genre: string; films: number }>(`
        SELECT g.genre, count(DISTINCT l.film_work_id)::int AS films FROM content.genre g
        JOIN content.film_work_genre l ON l.genre_id = g.id GROUP BY g.genre
        ORDER BY abs(count(DISTINCT l.film_work_id) - 0.1 * (SELECT count(*) FROM content.film_work)) LIMIT 1`)
    ).rows[0]!;
    const samples: Sample[] = [];
    let current = genre.genre;
    for (let i = 0; i < runs; i++) {
      const next = current === genre.genre ? `${genre.genre} (renamed)` : genre.genre;
      const t = performance.now();
      await c.query('UPDATE content.genre SET genre = $1 WHERE genre = $2', [next, current]);
      const updateSeconds = (performance.now() - t) / 1000;
      current = next;
      const l = load1();
      const r = await startEtl(env(cat, index));
      const touched = Number(r.json.indexed);
      samples.push({
        films: touched,
        updateSeconds,
        seconds: r.seconds,
        docsPerSecond: touched / r.seconds,
        peakRssMb: r.peakRssMb,
        load1: l,
      });
    }
    if (current !== genre.genre) {
      await c.query('UPDATE content.genre SET genre = $1 WHERE genre = $2', [genre.genre, current]);
      await startEtl(env(cat, index));
    }
    await c.end();
    const full = results.find((r) => r.id === 'full-large') ?? results.find((r) => r.id === 'full' && r.films === large);
    const m = summarize('rename', `(d) rename genre "${genre.genre}" (${genre.films.toLocaleString('en')} of ${label(large)} films), then start-etl`, samples, {
      films: large,
      target: 'time proportional to the touched films',
    });
    if (full) {
      const rate = m.median.docsPerSecond! / full.median.docsPerSecond!;
      const share = genre.films / large;
      const timeShare = m.median.seconds! / full.median.seconds!;
      m.note = `${(share * 100).toFixed(1)}% of films touched, ${(timeShare * 100).toFixed(1)}% of a full index's time; rate ${(rate * 100).toFixed(0)}% of the full-index rate`;
      m.met = rate >= 0.7;
    }
    save();
  }
  if (scenarios.has('noop')) {
    const samples: Sample[] = [];
    for (let i = 0; i < Math.max(5, runs); i++) {
      const l = load1();
      const r = await startEtl(env(cat, index));
      if (Number(r.json.pending) !== 0) throw new Error('noop run found pending films');
      samples.push({ seconds: r.seconds, etlSeconds: Number(r.json.seconds), queryMs: Number(r.json.queryMs ?? NaN), peakRssMb: r.peakRssMb, load1: l });
    }
    const m = summarize('noop', `(c) start-etl with nothing pending, ${label(large)} films (after the rename runs)`, samples, {
      films: large,
      target: 'query time < 1 s, whole process < 2 s',
      note: firstNote,
    });
    m.met = m.median.queryMs! < 1000 && m.median.seconds! < 2;
  }

  await deleteIndex(cat, index);
}

// ---------------------------------------------------------------- --batch / --concurrency sweep
if (scenarios.has('etl-sweep')) {
  const cat = await ensureCatalogue(label(small), small, seed, log);
  const samples: Sample[] = [];
  const grid: Array<[number, number]> = [[100, 2], [250, 2], [500, 2], [500, 3], [1000, 1], [1000, 2], [1000, 3], [2000, 2]];
  for (const [batch, concurrency] of grid) {
    {
      const s = await fullIndex(cat, 'bench_sweep', ['--batch', String(batch), '--concurrency', String(concurrency)]);
      samples.push({ batch, concurrency, ...s });
      log(`sweep batch ${batch} concurrency ${concurrency}: ${Math.round(s.docsPerSecond as number)}/s, ${Math.round(s.peakRssMb as number)} MB`);
    }
  }
  summarize('etl-sweep', `init-es --batch × --concurrency, ${label(small)} films (1 run each)`, samples, { films: small });
  await deleteIndex(cat, 'bench_sweep');
}

save();
writeReport(ROOT);
log(`wrote bench/results/${name}.json and BENCHMARKS.md`);
