// Progress of long work as people read it: off a terminal (a pipe, cron) timestamped lines that
// name every phase and give done/total, percent, rate and ETA, with no silent stretch longer
// than the 5 s cadence; on a real terminal (script(1)) a bar with its percent; init-es and
// verify give each index's total.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';
import { deleteIndex } from '../helpers/engine.js';
import { root, serviceEnv } from '../helpers/env.js';

const services = serviceEnv();
const index = `movies_progress_${process.pid}`;
const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) /;
/** Enough films for a load of several seconds on the CI machine (about 12 s here, 6 of them reading), so that several lines appear. */
const FILMS = 70_000;
const SMALL = 3_000;
/** The cadence off a terminal is 5 s; a second of slack for a loaded machine. */
const MAX_GAP_MS = 6_000;

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function inTerminal(command: string, env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', SHELL: '/bin/sh', TERM: 'xterm', COLUMNS: '100', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('progress of long work', () => {
  let big: Awaited<ReturnType<typeof freshDatabase>>;
  let small: Awaited<ReturnType<typeof freshDatabase>>;
  let dir: string;
  const files = { big: '', small: '' };
  before(async () => {
    [big, small] = await Promise.all([freshDatabase(services.DATABASE_URL, 'movies_prog'), freshDatabase(services.DATABASE_URL, 'movies_prog')]);
    dir = mkdtempSync(join(tmpdir(), 'movies-progress-'));
    files.big = join(dir, 'big.json');
    files.small = join(dir, 'small.json');
    for (const [n, file] of [[FILMS, files.big], [SMALL, files.small]] as const) {
      const r = await runCli(['generate', '--films', String(n), '--seed', '17', '--out', file], {});
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await deleteIndex(services.OPENSEARCH_URL, index);
    await Promise.all([big?.drop(), small?.drop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loaddata through a pipe: every phase named, with total, percent, rate and ETA, and no gap over 6 s', async () => {
    const started = Date.now();
    const r = await runCli(['loaddata', files.big], { DATABASE_URL: big.url });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    for (const l of lines) assert.match(l, STAMP, `every line off a terminal is stamped: ${l}`);
    const text = lines.map((l) => l.replace(STAMP, ''));
    const reading = text.filter((l) => /^reading fixture: [\d.]+\/[\d.]+ MB \(\d+%\), [\d.,]+ MB\/s, ETA \S+, [\d,]+ objects$/.test(l));
    assert.ok(text.filter((l) => l.startsWith('reading fixture:')).length >= 2, `the reading was shown as it began and again 5 s on:\n${r.stderr}`);
    assert.ok(reading.length >= 1, `with its total, percent, rate and ETA:\n${r.stderr}`);
    for (const phase of ['reading fixture', 'checking references', 'writing the catalogue', 'committing', 'analyzing']) {
      assert.ok(text.some((l) => l.startsWith(`${phase}:`)), `phase "${phase}" named:\n${r.stderr}`);
    }
    assert.ok(text.some((l) => /^writing the catalogue: [\d,]+\/[\d,]+ objects \(\d+%\)/.test(l)), r.stderr);
    // From the start, through each stderr line, to the result on stdout: never silent longer than the cadence allows.
    const times = [started, ...lines.map((l) => Date.parse(STAMP.exec(l)![1]!)), Date.parse(STAMP.exec(r.stdout)![1]!)];
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    const longest = Math.max(...gaps);
    assert.ok(longest <= MAX_GAP_MS, `longest silence ${longest} ms (gaps ${gaps.join(', ')}):\n${r.stderr}`);
    assert.ok(times.at(-1)! - started >= 5_000, `the load ran long enough to need progress (${times.at(-1)! - started} ms)`);
  });

  it('loaddata on a terminal draws a bar with its percent, without timestamps on it', async () => {
    const movies = `${sh(process.execPath)} ${sh(`${root}bin/movies`)}`;
    const r = await inTerminal(`stty cols 100; timeout --foreground -s KILL 50 ${movies} loaddata ${sh(files.small)}`, { DATABASE_URL: small.url, MOVIES_ONLY: 'movies' });
    assert.equal(r.code, 0, r.out.slice(-2000));
    assert.match(r.out, /reading fixture ▕[█░]+▏\s*\d+% [\d.]+\/[\d.]+ MB/, 'the bar, percent and total');
    assert.match(r.out, /writing the catalogue ▕[█░]+▏\s*\d+% [\d,]+\/[\d,]+ objects/);
    assert.match(r.out, /loaded 3,\d{3}|loaded [\d,]+ objects/);
  });

  it('init-es and verify give each index its total', async () => {
    const env = { DATABASE_URL: small.url, ELASTICSEARCH_URL: services.OPENSEARCH_URL, MOVIES_INDEX: index, MOVIES_ONLY: 'movies' };
    const loaded = await runCli(['loaddata', files.small], env);
    assert.equal(loaded.code, 0, loaded.stderr);
    const films = Number((await small.db('content.film_work').count<{ n: string }[]>({ n: '*' }))[0]!.n);
    const total = films.toLocaleString('en');
    const init = await runCli(['init-es'], env);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stderr, new RegExp(`${index}: building the index: [\\d,]+/${total} films \\(\\d+%\\)`), init.stderr);
    for (const phase of ['queueing every document', 'swapping the alias']) assert.match(init.stderr, new RegExp(`${index}: ${phase}`), init.stderr);
    const v = await runCli(['verify'], env);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stderr, new RegExp(`${index}: comparing: [\\d,]+/${total} films \\(\\d+%\\)`), v.stderr);
  });
});
