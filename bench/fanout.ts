/*
 * The cost of migration 005's per-target fan-out on loaddata (issue 10): every capture trigger now
 * inserts one queue row per registered target of the index, where before it inserted one row into
 * the index's single queue.
 *
 *   node --import tsx bench/fanout.ts --before DIR --after DIR [--films 100000] [--runs 3]
 *        [--fixture FILE] [--out bench/results/fanout-100k.json] [--append]
 *
 * --append keeps the samples already in --out and numbers this invocation's rounds on.
 *
 * DIR are built checkouts (git worktrees): before = issue 9's end (migrations 001–004, one queue per
 * index, always written), after = issue 10 with 0, 1 or 2 targets per index registered by plain
 * INSERTs into movies.etl_target (cluster 'bench', unique alias and physical names, state
 * 'live') between `migrate` and `loaddata`. Each sample is `loaddata FIXTURE` into a freshly
 * migrated database. A round is before, after-k, before, after-k', before, after-k'' (before
 * between every after variant, ABAB), the after variants' order rotating per round. After each
 * load the queue rows are counted, to show the fan-out happened (after-k: k × documents).
 *
 * Every CLI run is a child process under GNU time (wall, peak RSS, CPU); each sample records the
 * 1-minute load average before and after, because the machine is shared. Env: DATABASE_URL
 * (server only). Database movies_fanout is created and dropped per sample.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dbUrl, dropDatabase, sql } from './lib/catalogue.js';
import { cpuDelta, cpuSnapshot, load1, machine, median, mustRunIn, ROOT } from './lib/measure.js';
import type { Measurement, Sample } from './run.js';

const { values: args } = parseArgs({
  options: {
    before: { type: 'string' },
    after: { type: 'string' },
    films: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    fixture: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'bench/results/fanout-100k.json') },
    append: { type: 'boolean', default: false },
  },
});
if (!args.before || !args.after) throw new Error('--before DIR and --after DIR are required');
const before = resolve(args.before);
const after = resolve(args.after);
const films = Number(args.films);
const runs = Number(args.runs);
const fixture = resolve(args.fixture ?? join(tmpdir(), `fanout-films-${films}.json`));
const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);
const movies = mustRunIn;
const DATABASE = 'movies_fanout';

type Variant = 'before' | 'after-0' | 'after-1' | 'after-2';
const targetsOf = (v: Variant) => (v === 'before' ? 0 : Number(v.slice(-1)));

async function sample(v: Variant, round: number, slot: number): Promise<Sample> {
  const dir = v === 'before' ? before : after;
  await dropDatabase(DATABASE);
  await sql('postgres', `CREATE DATABASE ${DATABASE}`);
  const url = dbUrl(DATABASE);
  await movies(dir, ['migrate'], { DATABASE_URL: url });
  for (let i = 1; i <= targetsOf(v); i++) {
    await sql(
      DATABASE,
      `INSERT INTO movies.etl_target (index_name, cluster, alias, physical, state)
       SELECT name, 'bench', 'fanout_' || name || '_${i}', 'fanout_' || name || '_${i}_physical', 'live'
       FROM unnest(ARRAY['movies', 'genres', 'persons']) AS n(name)`,
    );
  }
  const l = load1();
  const cpu0 = cpuSnapshot();
  const r = await movies(dir, ['--json', '--quiet', 'loaddata', fixture], { DATABASE_URL: url });
  const cpu = cpuDelta(cpu0, cpuSnapshot());
  const after1 = load1();
  const q = (
    await sql(
      DATABASE,
      `SELECT (SELECT count(*) FROM movies.film_work_change)::int AS films,
              (SELECT count(*) FROM movies.genre_change)::int AS genres,
              (SELECT count(*) FROM movies.person_change)::int AS persons`,
    )
  ).rows[0] as { films: number; genres: number; persons: number };
  await dropDatabase(DATABASE);
  const objects = Number(r.json.objects);
  const phases = (r.json.phases ?? {}) as { stage?: number; check?: number; upsert?: number };
  log(`${v} round ${round}: ${r.seconds.toFixed(1)} s, ${objects} objects, queues ${q.films}/${q.genres}/${q.persons}, load ${l} → ${after1}`);
  return {
    round,
    slot,
    seconds: r.seconds,
    objects,
    objectsPerSecond: objects / r.seconds,
    peakRssMb: r.peakRssMb,
    stageSeconds: phases.stage,
    checkSeconds: phases.check,
    upsertSeconds: phases.upsert,
    cpuCliSeconds: r.cpuSeconds,
    cpuPostgresSeconds: cpu.postgres,
    filmQueueRows: q.films,
    genreQueueRows: q.genres,
    personQueueRows: q.persons,
    load1: l,
    load1After: after1,
  };
}

const info = await machine();
const started = new Date();
const label = films % 1000 === 0 ? `${films / 1000}k` : String(films);
log(`machine ${JSON.stringify(info)}; ${films} films, ${runs} rounds; before ${before}, after ${after}`);
if (!existsSync(fixture)) {
  log(`generating ${fixture}`);
  await movies(after, ['generate', '--films', String(films), '--seed', '1', '--out', fixture], {});
}

const variants: Variant[] = ['before', 'after-0', 'after-1', 'after-2'];
const samples: Record<Variant, Sample[]> = { before: [], 'after-0': [], 'after-1': [], 'after-2': [] };
const previous = args.append && existsSync(args.out!) ? (JSON.parse(readFileSync(args.out!, 'utf8')) as { started: string; results: Measurement[] }) : undefined;
for (const m of previous?.results ?? []) samples[m.id.replace('fanout-', '') as Variant] = m.runs;
const firstRound = 1 + Math.max(0, ...samples.before.map((r) => Number(r.round)));
let slot = Math.max(0, ...Object.values(samples).flatMap((xs) => xs.map((r) => Number(r.slot))));
const TITLES: Record<Variant, string> = {
  before: 'before (d259434: one queue per index, every change enqueued)',
  'after-0': 'after (537e34a), 0 targets per index (triggers fire, insert nothing)',
  'after-1': 'after (537e34a), 1 target per index',
  'after-2': 'after (537e34a), 2 targets per index',
};

function save(): void {
  const results: Measurement[] = variants
    .filter((v) => samples[v].length > 0)
    .map((v) => {
      const all = samples[v];
      const keys = Object.keys(all[0]!).filter((k) => !['round', 'slot', 'load1After'].includes(k) && all.every((r) => typeof r[k] === 'number'));
      const med = Object.fromEntries(keys.map((k) => [k, median(all.map((r) => r[k] as number))]));
      const range = (k: string) => `${Math.min(...all.map((r) => r[k] as number)).toFixed(1)}–${Math.max(...all.map((r) => r[k] as number)).toFixed(1)}`;
      return { id: `fanout-${v}`, title: `loaddata ${label} films, ${TITLES[v]}`, films, runs: all, median: med, note: `wall ${range('seconds')} s, load ${range('load1')}` };
    });
  writeFileSync(
    args.out!,
    JSON.stringify(
      { name: `fanout-${label}`, started: previous?.started ?? started.toISOString(), options: { small: films, large: 0, runs: samples['after-0'].length, seed: 1, etlArgs: [] }, machine: info, checkouts: { before, after }, results },
      null,
      2,
    ) + '\n',
  );
}

const afters = variants.filter((v) => v !== 'before');
for (let round = firstRound; round < firstRound + runs; round++) {
  // before, then each after variant, before again between them; the after order rotates per round.
  const order = afters.map((_, i) => afters[(i + round - 1) % afters.length]!);
  for (const v of order) {
    samples.before.push(await sample('before', round, ++slot));
    samples[v].push(await sample(v, round, ++slot));
    save();
  }
}
log(`wrote ${args.out}`);
