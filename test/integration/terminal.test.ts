// What the CLI prints, through pipes (cron, CI) and through a real pseudo-terminal (script(1)):
// control characters from the data never reach the terminal raw, lines off a terminal are
// timestamped, NO_COLOR is honoured, and the spinner neither hangs on a 0-column terminal nor
// touches signals or stdin.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';
import { deleteIndex } from '../helpers/engine.js';
import { root, serviceEnv } from '../helpers/env.js';
import { ExitCode } from '../../src/core/errors.js';

const services = serviceEnv();
const index = `movies_term_${process.pid}`;
// C0 controls but \n and \t, DEL and C1: none may reach a terminal raw.
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;
const SGR = /\x1b\[[0-9;]*m/; // a colour (Select Graphic Rendition) sequence
const TITLE = 'Zyxwv \u001b[31mred\u001b[0m alert\u0007\u009b2J';

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs a shell command line inside a pseudo-terminal; returns what the terminal showed. */
function inTerminal(command: string, env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; out: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    // -e: script exits with the command's code; the terminal's size is 0x0 unless stty sets it.
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', SHELL: '/bin/sh', TERM: 'xterm', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, timedOut });
    });
  });
}

// Inside the terminal a hung command is killed before the test gives up, so none is left spinning.
const node = (args: string) => `timeout --foreground -s KILL 50 ${sh(process.execPath)} ${args}`;
const movies = (args: string) => node(`${sh(`${root}bin/movies`)} ${args}`);

describe('terminal output', () => {
  let h: Awaited<ReturnType<typeof freshDatabase>>;
  let env: Record<string, string>;
  before(async () => {
    h = await freshDatabase(services.DATABASE_URL);
    env = { DATABASE_URL: h.url, ELASTICSEARCH_URL: services.OPENSEARCH_URL, MOVIES_INDEX: index, MOVIES_ONLY: 'movies' };
    const file = join(mkdtempSync(join(tmpdir(), 'movies-term-')), 'f.json');
    for (const args of [['generate', '--films', '30', '--seed', '5', '--out', file], ['loaddata', file]]) {
      const r = await runCli(args, env);
      assert.equal(r.code, 0, r.stderr);
    }
    const [film] = await h.db('content.film_work').select('id').orderBy('id').limit(1);
    await h.db('content.film_work').where({ id: film.id }).update({ title: TITLE });
    for (const args of [['init-es'], ['start-etl']]) {
      const r = await runCli(args, env);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await deleteIndex(services.OPENSEARCH_URL, index);
    await h.drop();
  });

  it('search shows control characters of a title escaped, never raw, and --json keeps the exact title', async () => {
    const r = await runCli(['search', 'Zyxwv'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, RAW_CONTROL);
    assert.ok(r.stdout.includes('Zyxwv \\x1b[31mred\\x1b[0m alert\\x07\\x9b2J'), r.stdout);

    const j = await runCli(['--json', 'search', 'Zyxwv'], env);
    assert.equal(j.code, 0, j.stderr);
    assert.doesNotMatch(j.stdout, RAW_CONTROL);
    assert.equal(JSON.parse(j.stdout).hits[0].title, TITLE);
  });

  it('error messages show control characters escaped', async () => {
    const r = await runCli(['loaddata', '/nonexistent/\u001b[2Jevil\u009b.json'], env);
    assert.equal(r.code, ExitCode.usage, r.stderr);
    assert.doesNotMatch(r.stderr, RAW_CONTROL);
    assert.ok(r.stderr.includes('/nonexistent/\\x1b[2Jevil\\x9b.json'), r.stderr);
  });

  it('off a terminal every result and error line starts with a timestamp; --json stdout stays pure JSON', async () => {
    const r = await runCli(['search', 'Zyxwv'], env);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.ok(lines.length >= 2, r.stdout);
    for (const line of lines) assert.match(line, STAMP);

    const e = await runCli(['--max-retry-time', '0', '--es-url', 'http://127.0.0.1:2', 'search', 'x'], env);
    assert.equal(e.code, ExitCode.connection, e.stderr);
    for (const line of e.stderr.trimEnd().split('\n')) assert.match(line, STAMP);

    const j = await runCli(['--json', 'search', 'Zyxwv'], env);
    assert.doesNotMatch(j.stdout, STAMP);
    assert.equal(JSON.parse(j.stdout).total, 1);
  });

  it('on a terminal that reports 0 columns, start-etl ends (no spinner) with its result', async () => {
    // Every film pending again (init-es would rebuild and leave nothing for start-etl to do).
    await h.db('content.film_work').update({ modified: h.db.raw('clock_timestamp()') });
    const r = await inTerminal(`stty cols 0; ${movies('start-etl --batch 5')}`, env);
    assert.equal(r.timedOut, false, `start-etl hung on a 0-column terminal:\n${r.out.slice(0, 2000)}`);
    assert.equal(r.code, 0, `start-etl failed, or hung and was killed (137), on a 0-column terminal:\n${r.out.slice(0, 2000)}`);
    assert.match(r.out, /indexed 30 films/);
  });

  it('on a terminal, NO_COLOR removes colour from errors and from the spinner', async () => {
    const error = movies(`loaddata /nonexistent.json`);
    const coloured = await inTerminal(error, env);
    assert.equal(coloured.code, ExitCode.usage, coloured.out);
    assert.match(coloured.out, SGR, 'without NO_COLOR the error label is coloured');
    const plain = await inTerminal(error, { ...env, NO_COLOR: '1' });
    assert.equal(plain.code, ExitCode.usage, plain.out);
    assert.match(plain.out, /error: cannot read fixture/);
    assert.doesNotMatch(plain.out, SGR);

    // Every film pending again (init-es would rebuild and leave nothing for start-etl to do).
    await h.db('content.film_work').update({ modified: h.db.raw('clock_timestamp()') });
    const spin = await inTerminal(`stty cols 100; ${movies('start-etl --batch 5')}`, { ...env, NO_COLOR: '1' });
    assert.equal(spin.code, 0, spin.out);
    assert.match(spin.out, /indexed \d+ \/ 30\b/, 'the spinner ran');
    assert.doesNotMatch(spin.out, SGR);
  });

  it('the spinner installs no signal handlers and leaves the terminal out of raw mode', async () => {
    const script = [
      `const { createReporter } = await import(${JSON.stringify(`${root}dist/cli/output.js`)});`,
      `const before = ['SIGINT', 'SIGTERM'].map((s) => process.listenerCount(s));`,
      `const out = createReporter();`,
      `out.progress('working');`,
      `const after = ['SIGINT', 'SIGTERM'].map((s) => process.listenerCount(s));`,
      `const raw = Boolean(process.stdin.isRaw);`,
      `out.done();`,
      `console.log('RESULT ' + JSON.stringify({ before, after, raw, tty: Boolean(process.stdin.isTTY) }));`,
      `process.exit(0);`,
    ].join(' ');
    const r = await inTerminal(`stty cols 100; ${node(`--input-type=module -e ${sh(script)}`)}`, {});
    assert.equal(r.code, 0, r.out);
    const line = /RESULT (\{.*\})/.exec(r.out);
    assert.ok(line, r.out);
    const got = JSON.parse(line[1]!) as { before: number[]; after: number[]; raw: boolean; tty: boolean };
    assert.equal(got.tty, true, 'stdin is the terminal');
    assert.deepEqual(got.after, got.before, 'no SIGINT/SIGTERM handlers added');
    assert.equal(got.raw, false, 'stdin not in raw mode');
  });
});
