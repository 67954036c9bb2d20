/*
 * Debian's pgbench against a benchmark catalogue, for what capture costs writers
 * (bench/writers.ts, bench/capture-cost.ts): the scripts, the same starting state for every
 * run, and one run with its wait events sampled and its CPU taken.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

export type Script = 'update' | 'link';
const SAMPLE_MS = 100;

/** Numbered ids (public.bench_film, public.bench_person), so that pgbench can pick a random film or person; the number of persons. */
export async function numberIds(db: pg.Client): Promise<number> {
  await db.query(`
    DROP TABLE IF EXISTS public.bench_film, public.bench_person;
    CREATE TABLE public.bench_film AS SELECT row_number() OVER (ORDER BY id)::int AS n, id FROM content.film_work;
    CREATE TABLE public.bench_person AS SELECT row_number() OVER (ORDER BY id)::int AS n, id FROM content.person;
    ALTER TABLE public.bench_film ADD PRIMARY KEY (n);
    ALTER TABLE public.bench_person ADD PRIMARY KEY (n);
    ANALYZE public.bench_film, public.bench_person`);
  return Number((await db.query('SELECT count(*)::int AS n FROM public.bench_person')).rows[0].n);
}

/**
 * The pgbench scripts, as -f arguments: `update` sets one random film's imdb_rating; `link`
 * inserts a link between a random film and person, or deletes a random film's first link, half
 * and half.
 */
export function writeScripts(films: number, persons: number): Record<Script, string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-pgbench-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  return {
    update: [
      file(
        'update.sql',
        `\\set n random(1, ${films})
UPDATE content.film_work SET imdb_rating = random() * 10 WHERE id = (SELECT id FROM public.bench_film WHERE n = :n);
`,
      ),
    ],
    link: [
      `${file(
        'link-insert.sql',
        `\\set f random(1, ${films})
\\set p random(1, ${persons})
INSERT INTO content.film_work_person (id, film_work_id, person_id, job, created, modified)
SELECT gen_random_uuid(), f.id, p.id, 'actor', now(), now() FROM public.bench_film f, public.bench_person p WHERE f.n = :f AND p.n = :p;
`,
      )}@1`,
      `${file(
        'link-delete.sql',
        `\\set f random(1, ${films})
DELETE FROM content.film_work_person WHERE id = (
  SELECT l.id FROM content.film_work_person l WHERE l.film_work_id = (SELECT id FROM public.bench_film WHERE n = :f) LIMIT 1);
`,
      )}@1`,
    ],
  };
}

/** The same starting state for every run: nothing queued, no dead rows in what the runs write, a fresh checkpoint. */
export async function resetState(db: pg.Client): Promise<void> {
  await db.query('TRUNCATE movies.film_work_change, movies.genre_change, movies.person_change');
  await db.query('VACUUM ANALYZE content.film_work, content.film_work_person, movies.film_work_change, movies.genre_change, movies.person_change');
  await db.query('CHECKPOINT');
}

/** User + system CPU seconds of a live process (0 once it is gone). */
export function procCpu(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

export interface PgbenchRun {
  tps: number;
  transactions: number;
  /** Each pgbench connection's wait event (active without one: CPU) counted once per sample. */
  waits: Record<string, number>;
  samples: number;
  /** CPU seconds of pgbench itself (sampled; the last 100 ms are missing). */
  pgbenchCpu: number;
  seconds: number;
}

export interface PgbenchOptions {
  url: string;
  clients: number;
  seconds: number;
  files: string[];
  /** PGOPTIONS for the writers' sessions (e.g. session_replication_role). */
  pgoptions?: string;
  /** The connection that samples pg_stat_activity. */
  sampler: pg.Client;
}

export async function runPgbench(o: PgbenchOptions): Promise<PgbenchRun> {
  const u = new URL(o.url);
  const argv = ['-n', '-M', 'prepared', '-c', String(o.clients), '-j', '2', '-T', String(o.seconds), '-h', u.hostname, '-p', u.port || '5432', '-U', u.username || 'postgres'];
  for (const f of o.files) argv.push('-f', f);
  argv.push(u.pathname.slice(1));
  const t0 = performance.now();
  const bench = spawn('pgbench', argv, { env: { ...process.env, PGOPTIONS: o.pgoptions ?? '', PGAPPNAME: 'pgbench' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  bench.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  bench.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let done = false;
  const exited = new Promise<number | null>((r) => bench.on('close', (c) => r(c)));
  void exited.then(() => (done = true));
  const waits: Record<string, number> = {};
  let samples = 0;
  let pgbenchCpu = 0;
  while (!done) {
    await sleep(SAMPLE_MS);
    if (done) break;
    pgbenchCpu = Math.max(pgbenchCpu, procCpu(bench.pid));
    const r = await o.sampler.query(
      `SELECT coalesce(wait_event_type || ':' || wait_event, CASE WHEN state = 'active' THEN 'CPU' ELSE state END) AS w, count(*)::int AS n
       FROM pg_stat_activity WHERE application_name = 'pgbench' AND backend_type = 'client backend' GROUP BY 1`,
    );
    if (r.rows.length === 0) continue;
    samples++;
    for (const x of r.rows) waits[x.w] = (waits[x.w] ?? 0) + x.n;
  }
  const code = await exited;
  if (code !== 0) throw new Error(`pgbench exited ${code}: ${out}`);
  return {
    tps: Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1]),
    transactions: Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1]),
    waits,
    samples,
    pgbenchCpu,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The three most sampled waits, as shares of all connection samples. */
export const topWaits = (r: PgbenchRun, clients: number): string =>
  Object.entries(r.waits)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, v]) => `${k} ${((100 * v) / Math.max(1, r.samples * clients)).toFixed(0)}%`)
    .join(', ');
