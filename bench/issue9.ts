/*
 * Issue 9 costs at 100k films, between two built checkouts (git worktrees):
 *
 *   node --import tsx bench/issue9.ts --before DIR --after DIR [--films 100000] [--runs 3]
 *        [--fixture FILE] [--out bench/results/issue9-100k.json] [--scenarios loaddata,full,films] [--append]
 *
 * --append adds this invocation's runs (rounds numbered on) to those already in --out.
 *
 * 1. loaddata of the same fixture into a freshly migrated database, interleaved per round:
 *    before (its own migrations), after (migration 004's capture triggers on genre, person and
 *    film_work_person), and after with exactly those triggers disabled, which separates the
 *    triggers from the other loaddata changes between the two commits.
 * 2. A full index (init-es untimed, then a timed start-etl) of the after checkout on the catalogue
 *    loaddata left, with MOVIES_ONLY=movies against all three indexes, alternating which goes
 *    first.
 * 3. films (not in the default scenarios): the film path before and after, a full index of the
 *    film index only (the after side with MOVIES_ONLY=movies), each side on a catalogue loaded by
 *    its own loaddata, alternating which goes first. Without the bench's ceiling runs in between,
 *    so that more pairs fit in the same time.
 *
 * This script documents the layout before issue 10 and is kept as the record of how the issue 9
 * figures were made: it runs `init-es` untimed and then times `start-etl`. Since issue 10,
 * init-es fills the index itself (and leaves nothing pending), so against a current checkout
 * its "full" and "films" scenarios would time a start-etl with nothing to do and fail their
 * document-count check; bench/run.ts times the full index as `init-es` instead.
 *
 * Every CLI run is a child process under GNU time (wall, peak RSS, CPU); every sample records the
 * 1-minute load average, because the machine is shared. Env: DATABASE_URL (server only),
 * OPENSEARCH_URL. Databases movies_issue9_* and indexes issue9_* are created and removed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dbUrl, dropDatabase, sql } from './lib/catalogue.js';
import { cpuDelta, cpuSnapshot, engineUrl, load1, machine, median, mustRunIn, ROOT } from './lib/measure.js';
import type { Measurement, Sample } from './run.js';

const { values: args } = parseArgs({
  options: {
    before: { type: 'string' },
    after: { type: 'string' },
    films: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    fixture: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'bench/results/issue9-100k.json') },
    scenarios: { type: 'string', default: 'loaddata,full' },
    append: { type: 'boolean', default: false },
  },
});
if (!args.before || !args.after) throw new Error('--before DIR and --after DIR are required');
const before = resolve(args.before);
const after = resolve(args.after);
const films = Number(args.films);
const runs = Number(args.runs);
const fixture = resolve(args.fixture ?? join(tmpdir(), `issue9-films-${films}.json`));
const scenarios = new Set(args.scenarios!.split(',').map((x) => x.trim()));
const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);
const movies = mustRunIn;
const engine = engineUrl();
const PREFIX = 'issue9_';

async function freshDatabase(database: string, dir: string): Promise<string> {
  await dropDatabase(database);
  await sql('postgres', `CREATE DATABASE ${database}`);
  const url = dbUrl(database);
  await movies(dir, ['migrate'], { DATABASE_URL: url });
  return url;
}

const previous = args.append && existsSync(args.out!) ? (JSON.parse(readFileSync(args.out!, 'utf8')) as { started: string; results: Measurement[] }) : undefined;
const results: Measurement[] = previous?.results ?? [];
const info = await machine();
const started = previous ? new Date(previous.started) : new Date();
/** Rounds already recorded for a measurement, so appended rounds number on. */
const roundBase = (id: string) => Math.max(0, ...(results.find((r) => r.id === id)?.runs.map((x) => Number(x.round)) ?? []));

function summarize(id: string, title: string, samples: Sample[], extra: Partial<Measurement> = {}): void {
  const old = results.findIndex((r) => r.id === id);
  const base = roundBase(id);
  const all: Sample[] = [...(old >= 0 ? results[old]!.runs : []), ...samples.map((r) => ({ ...r, round: base + Number(r.round) }))];
  if (old >= 0) results.splice(old, 1);
  const keys = Object.keys(all[0] ?? {}).filter((k) => !['round', 'slot', 'load1After'].includes(k) && all.every((r) => typeof r[k] === 'number'));
  const med = Object.fromEntries(keys.map((k) => [k, median(all.map((r) => r[k] as number))]));
  results.push({ id, title, runs: all, median: med, films, ...extra });
  log(`${id}: ${JSON.stringify(med)}`);
  save();
}

function runsLabel(): number | string {
  const n = results.map((r) => r.runs.length);
  const lo = Math.min(...n, runs);
  const hi = Math.max(...n, runs);
  return lo === hi ? lo : `${lo}–${hi}`;
}

function save(): void {
  writeFileSync(
    args.out!,
    JSON.stringify(
      {
        name: 'issue9-100k',
        started: started.toISOString(),
        // Appended invocations may differ in --runs: say the range of runs per measurement.
        options: { small: films, large: 0, runs: runsLabel(), seed: 1, etlArgs: [], scenarios: results.map((r) => r.id) },
        machine: info,
        checkouts: { before, after },
        results,
      },
      null,
      2,
    ) + '\n',
  );
}

const label = films % 1000 === 0 ? `${films / 1000}k` : String(films);
log(`machine ${JSON.stringify(info)}; ${films} films, ${runs} runs; before ${before}, after ${after}`);

if (!existsSync(fixture)) {
  log(`generating ${fixture}`);
  await movies(after, ['generate', '--films', String(films), '--seed', '1', '--out', fixture], {});
}

// The catalogue the full-index runs use: the last "after" loaddata database, kept.
const CATALOGUE = 'movies_issue9_after';

// ---------------------------------------------------------------- loaddata before / after / after without 004's triggers
type Arm = 'before' | 'after' | 'after-no004';
if (scenarios.has('loaddata')) {
  const arms: Arm[] = ['before', 'after', 'after-no004'];
  const samples: Record<Arm, Sample[]> = { before: [], after: [], 'after-no004': [] };
  for (let round = 1; round <= runs; round++) {
    // Round r starts with arm r-1: each arm takes each slot once over three rounds.
    const order = arms.map((_, i) => arms[(i + round - 1) % arms.length]!);
    for (const arm of order) {
      const dir = arm === 'before' ? before : after;
      const database = `movies_issue9_${arm.replace('-', '_')}`;
      const url = await freshDatabase(database, dir);
      let disabled = 0;
      if (arm === 'after-no004') {
        const t = await sql(
          database,
          `SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
           WHERE t.tgname ~ '_capture_(genres|persons)_' AND NOT t.tgisinternal`,
        );
        for (const r of t.rows as Array<{ relname: string; tgname: string }>) {
          await sql(database, `ALTER TABLE content.${r.relname} DISABLE TRIGGER ${r.tgname}`);
        }
        disabled = t.rowCount ?? 0;
        if (disabled !== 12) throw new Error(`expected migration 004's 12 triggers, found ${disabled}`);
      }
      const l = load1();
      const cpu0 = cpuSnapshot();
      const r = await movies(dir, ['--json', '--quiet', 'loaddata', fixture], { DATABASE_URL: url });
      const cpu = cpuDelta(cpu0, cpuSnapshot());
      const objects = Number(r.json.objects);
      const phases = (r.json.phases ?? {}) as { stage?: number; check?: number; upsert?: number };
      samples[arm].push({
        round,
        slot: order.indexOf(arm) + 1,
        seconds: r.seconds,
        objects,
        objectsPerSecond: objects / r.seconds,
        peakRssMb: r.peakRssMb,
        stageSeconds: phases.stage,
        checkSeconds: phases.check,
        upsertSeconds: phases.upsert,
        cpuCliSeconds: r.cpuSeconds,
        cpuPostgresSeconds: cpu.postgres,
        load1: l,
        load1After: load1(),
      });
      log(`loaddata ${arm} round ${round}: ${r.seconds.toFixed(1)} s, load ${l}`);
      if (arm !== 'after' || round !== runs) await dropDatabase(database);
    }
  }
  const objects = Number(samples.before[0]?.objects).toLocaleString('en');
  summarize('loaddata-before', `loaddata ${label} films (${objects} objects), before (eb8cb32, migrations 001–003)`, samples.before);
  summarize('loaddata-after', `loaddata ${label} films, after (migration 004's capture triggers on genre, person, film_work_person)`, samples.after);
  summarize('loaddata-after-no004', `loaddata ${label} films, after with migration 004's 12 triggers disabled`, samples['after-no004']);
}

// ---------------------------------------------------------------- full index: films only vs all three
if (scenarios.has('full')) {
  const exists = await sql('postgres', `SELECT 1 FROM pg_database WHERE datname = '${CATALOGUE}'`);
  if (exists.rowCount === 0) {
    log(`loading ${CATALOGUE}`);
    const url = await freshDatabase(CATALOGUE, after);
    await movies(after, ['--quiet', 'loaddata', fixture], { DATABASE_URL: url });
  }
  // As the bench's catalogues: statistics now, not from autovacuum in the middle of a run.
  await sql(CATALOGUE, 'VACUUM ANALYZE');
  const url = dbUrl(CATALOGUE);
  const base = { DATABASE_URL: url, ELASTICSEARCH_URL: engine, MOVIES_INDEX_PREFIX: PREFIX };
  type Mode = 'movies' | 'all';
  const samples: Record<Mode, Sample[]> = { movies: [], all: [] };
  for (let round = 1; round <= runs; round++) {
    const order: Mode[] = round % 2 ? ['movies', 'all'] : ['all', 'movies'];
    for (const mode of order) {
      const env: Record<string, string> = mode === 'movies' ? { ...base, MOVIES_ONLY: 'movies' } : { ...base };
      await movies(after, ['--quiet', 'init-es'], env);
      const l = load1();
      const cpu0 = cpuSnapshot();
      const r = await movies(after, ['--json', '--quiet', 'start-etl'], env);
      const cpu = cpuDelta(cpu0, cpuSnapshot());
      const per = (r.json.indexes ?? {}) as Record<string, { indexed: number; seconds: number }>;
      const docs = Number(r.json.indexed);
      if (Number(per.movies?.indexed) !== films) throw new Error(`${mode}: indexed ${per.movies?.indexed} films, expected ${films}`);
      const per1k = (x: number) => (x / docs) * 1000;
      samples[mode].push({
        round,
        slot: order.indexOf(mode) + 1,
        seconds: r.seconds,
        docs,
        docsPerSecond: docs / r.seconds,
        filmDocs: per.movies?.indexed,
        filmSeconds: per.movies?.seconds,
        filmDocsPerSecond: Number(per.movies?.indexed) / Number(per.movies?.seconds),
        genreDocs: per.genres?.indexed ?? 0,
        genreSeconds: per.genres?.seconds ?? 0,
        personDocs: per.persons?.indexed ?? 0,
        personSeconds: per.persons?.seconds ?? 0,
        peakRssMb: r.peakRssMb,
        cpuCliPer1k: per1k(r.cpuSeconds),
        cpuPostgresPer1k: per1k(cpu.postgres),
        cpuEnginePer1k: per1k(cpu.engine),
        cpuMachinePer1k: per1k(cpu.machineBusy),
        load1: l,
        load1After: load1(),
      });
      log(`full ${mode} round ${round}: ${r.seconds.toFixed(1)} s, ${docs} docs, load ${l}`);
    }
  }
  summarize('full-movies', `start-etl full index, ${label} films, MOVIES_ONLY=movies (after)`, samples.movies);
  summarize('full-all', `start-etl full index, ${label} films, all three indexes (after, default)`, samples.all);
  const c = await fetch(`${engine}/${PREFIX}movies,${PREFIX}genres,${PREFIX}persons?ignore_unavailable=true`, { method: 'DELETE' });
  if (!c.ok) log(`deleting the ${PREFIX}* indexes: HTTP ${c.status}`);
}

// ---------------------------------------------------------------- the film path, before vs after
if (scenarios.has('films')) {
  type Side = 'before' | 'after';
  const dirs: Record<Side, string> = { before, after };
  const urls = {} as Record<Side, string>;
  for (const side of ['before', 'after'] as const) {
    const database = `movies_issue9_films_${side}`;
    const exists = await sql('postgres', `SELECT 1 FROM pg_database WHERE datname = '${database}'`);
    if (exists.rowCount === 0) {
      log(`loading ${database}`);
      const url = await freshDatabase(database, dirs[side]);
      await movies(dirs[side], ['--quiet', 'loaddata', fixture], { DATABASE_URL: url });
    }
    await sql(database, 'VACUUM ANALYZE');
    urls[side] = dbUrl(database);
  }
  const samples: Record<Side, Sample[]> = { before: [], after: [] };
  for (let round = 1; round <= runs; round++) {
    const order: Side[] = round % 2 ? ['before', 'after'] : ['after', 'before'];
    for (const side of order) {
      // MOVIES_INDEX names the film index on both sides (before knows no prefix or --only).
      const env: Record<string, string> = { DATABASE_URL: urls[side], ELASTICSEARCH_URL: engine, MOVIES_INDEX: `${PREFIX}films_${side}` };
      if (side === 'after') env.MOVIES_ONLY = 'movies';
      await movies(dirs[side], ['--quiet', 'init-es'], env);
      const l = load1();
      const cpu0 = cpuSnapshot();
      const r = await movies(dirs[side], ['--json', '--quiet', 'start-etl'], env);
      const cpu = cpuDelta(cpu0, cpuSnapshot());
      const docs = Number(r.json.indexed);
      if (docs !== films) throw new Error(`${side}: indexed ${docs}, expected ${films}`);
      const per1k = (x: number) => (x / docs) * 1000;
      samples[side].push({
        round,
        slot: order.indexOf(side) + 1,
        seconds: r.seconds,
        docsPerSecond: docs / r.seconds,
        etlSeconds: Number(r.json.seconds),
        peakRssMb: r.peakRssMb,
        cpuCliPer1k: per1k(r.cpuSeconds),
        cpuPostgresPer1k: per1k(cpu.postgres),
        cpuEnginePer1k: per1k(cpu.engine),
        cpuMachinePer1k: per1k(cpu.machineBusy),
        load1: l,
        load1After: load1(),
      });
      log(`films ${side} round ${round}: ${r.seconds.toFixed(1)} s, CLI ${r.cpuSeconds.toFixed(2)} CPU-s, load ${l}`);
    }
  }
  summarize('films-before', `start-etl full index of the film index, ${label} films, before (eb8cb32)`, samples.before);
  summarize('films-after', `start-etl full index of the film index, ${label} films, after (MOVIES_ONLY=movies)`, samples.after);
  for (const side of ['before', 'after'] as const) {
    await fetch(`${engine}/${PREFIX}films_${side}?ignore_unavailable=true`, { method: 'DELETE' });
    await dropDatabase(`movies_issue9_films_${side}`);
  }
}
await dropDatabase(CATALOGUE);
save();
log(`wrote ${args.out}`);
