import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { ExitCode } from '../../src/core/errors.js';
import { root } from '../helpers/env.js';

/*
 * The service files of ops/, rendered the way users install them (ops/install.sh with --bin), with
 * this checkout's bin/movies as the CLI: systemd-analyze checks that the executable exists.
 */
const bin = `${root}bin/movies`;
const ops = `${root}ops`;

function sh(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, error: r.error };
}

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function install(extra: string[] = []): string {
  const dest = mkdtempSync(join(tmpdir(), 'movies-ops-'));
  made.push(dest);
  const r = sh('sh', [`${ops}/install.sh`, '--bin', bin, '--root', dest, ...extra]);
  assert.equal(r.code, 0, r.out);
  return dest;
}

const has = (cmd: string) => sh('sh', ['-c', `command -v ${cmd}`]).code === 0;
const units = (dest: string) => readdirSync(join(dest, 'etc/systemd/system')).map((f) => join(dest, 'etc/systemd/system', f));

/** The value of every `Key=` line of a unit file. */
function values(text: string, key: string): string[] {
  return [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);
}

/** Whether the CLI's own parser takes these arguments: each command's action replaced by nothing. */
async function parses(args: string[]): Promise<string | undefined> {
  const program = buildProgram();
  let message = '';
  const quiet = (c: Command, top: boolean) => {
    c.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: (s) => void (message += s) });
    if (!top) c.action(() => undefined);
    for (const sub of c.commands) quiet(sub, false);
  };
  quiet(program, true);
  try {
    await program.parseAsync(args, { from: 'user' });
    return undefined;
  } catch (err) {
    return `${(err as Error).message} ${message}`.trim();
  }
}

/** Every `movies ...` command of a shell line: the binary's path, then words up to an operator or a redirection. */
function movieCommands(line: string, path: string): string[][] {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // A word glued to < or > is a redirection's file descriptor (2>&1), not an argument.
  return [...line.matchAll(new RegExp(`${escaped}((?:[ \\t]+(?![^\\s;|&<>()]*[<>])[^\\s;|&<>()]+)*)`, 'g'))].map((m) => m[1]!.trim().split(/\s+/).filter(Boolean));
}

test('the shipped files name /usr/bin/movies, the one path ops/install.sh replaces', () => {
  const files = [...readdirSync(`${ops}/systemd`).map((f) => `${ops}/systemd/${f}`), `${ops}/cron/movies`];
  for (const f of files) assert.doesNotMatch(readFileSync(f, 'utf8'), /\/usr\/local\/bin/, f);
  for (const f of [...files.filter((f) => /movies-(watch|etl|status|verify)\.service$/.test(f)), `${ops}/cron/movies`]) {
    assert.match(readFileSync(f, 'utf8'), /\/usr\/bin\/movies /, f);
  }
  // The rendered ones name the CLI given, and nothing else.
  for (const f of units(install())) assert.doesNotMatch(readFileSync(f, 'utf8'), /\/usr\/bin\/movies/, f);
});

test('every unit passes systemd-analyze verify, with the CLI at the path install.sh rendered in', (t) => {
  if (!has('systemd-analyze')) {
    const msg = 'SKIPPED: systemd-analyze is absent (Debian package systemd)';
    console.warn(msg);
    t.skip(msg);
    return;
  }
  const files = units(install());
  assert.deepEqual(
    files.map((f) => f.replace(/.*\//, '')).sort(),
    ['movies-alert@.service', 'movies-etl.service', 'movies-etl.timer', 'movies-status.service', 'movies-status.timer', 'movies-verify.service', 'movies-verify.timer', 'movies-watch.service'],
  );
  for (const f of files) {
    const r = sh('systemd-analyze', ['verify', f]);
    // It exits 0 on an unknown key or a value it cannot parse, and only says so: silence is the pass.
    assert.deepEqual([r.code, r.out.trim()], [0, ''], `${f}: ${r.out}`);
  }
  // And it does look: the path as shipped (no CLI there on this machine, or not this one) is refused.
  const shipped = sh('systemd-analyze', ['verify', `${ops}/systemd/movies-etl.service`]);
  if (!statSync('/usr/bin/movies', { throwIfNoEntry: false })) assert.match(shipped.out, /\/usr\/bin\/movies is not executable/);
});

test('the units run as the user the sysusers file creates, with the environment file the tmpfiles file creates, and the exit codes that mean what they say', (t) => {
  const dest = install();
  const read = (name: string) => readFileSync(join(dest, 'etc/systemd/system', name), 'utf8');
  for (const name of ['movies-watch.service', 'movies-etl.service', 'movies-status.service', 'movies-verify.service']) {
    const text = read(name);
    assert.deepEqual(values(text, 'User'), ['movies'], name);
    assert.deepEqual(values(text, 'EnvironmentFile'), ['/etc/movies/env'], name);
    for (const key of ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp']) assert.equal(values(text, key).length, 1, `${name}: ${key}`);
  }
  const watch = read('movies-watch.service');
  assert.deepEqual(values(watch, 'Restart'), ['on-failure']);
  const prevent = values(watch, 'RestartPreventExitStatus').join(' ').split(/\s+/).map(Number);
  for (const code of [ExitCode.usage, ExitCode.unsupported, ExitCode.captureLost]) assert.ok(prevent.includes(code), `RestartPreventExitStatus lacks ${code}`);
  assert.ok(!prevent.includes(ExitCode.connection), 'an outage must be retried');
  const success = values(read('movies-etl.service'), 'SuccessExitStatus').join(' ').split(/\s+/).map(Number);
  assert.ok(success.includes(ExitCode.locked) && success.includes(ExitCode.interrupted), `SuccessExitStatus=${success.join(' ')}`);

  if (!has('systemd-sysusers') || !has('systemd-tmpfiles')) {
    const msg = 'SKIPPED (the rest): systemd-sysusers or systemd-tmpfiles is absent (Debian package systemd)';
    console.warn(msg);
    t.skip(msg);
    return;
  }
  // Applied under the rendered root, as install.sh applies them under /.
  for (const [cmd, args] of [['systemd-sysusers', []], ['systemd-tmpfiles', ['--create']]] as const) {
    const conf = join(dest, `etc/${cmd.replace('systemd-', '')}.d/movies.conf`);
    const r = sh(cmd, [...args, `--root=${dest}`, conf]);
    assert.equal(r.code, 0, `${cmd}: ${r.out}`);
  }
  const passwd = readFileSync(join(dest, 'etc/passwd'), 'utf8');
  const user = /^movies:x:(\d+):(\d+):/m.exec(passwd);
  assert.ok(user, passwd);
  const [uid, gid] = [Number(user[1]), Number(user[2])];
  const mode = (p: string) => {
    const s = statSync(join(dest, p));
    return { mode: (s.mode & 0o7777).toString(8), uid: s.uid, gid: s.gid };
  };
  assert.deepEqual(mode('etc/movies'), { mode: '750', uid: 0, gid });
  // Secrets: root writes them, the service user reads them, nobody else.
  assert.deepEqual(mode('etc/movies/env'), { mode: '640', uid: 0, gid });
  assert.ok(statSync(join(dest, 'etc/movies/env')).isFile());
  assert.deepEqual(mode('var/log/movies'), { mode: '750', uid, gid });
});

test('the cron file parses: variables, or five schedule fields, a user and a command sh accepts', () => {
  const dest = install(['--cron']);
  const text = readFileSync(join(dest, 'etc/cron.d/movies'), 'utf8');
  assert.ok(text.endsWith('\n'), 'cron ignores a last line without a newline');
  const sysusers = readFileSync(`${ops}/systemd/movies.sysusers.conf`, 'utf8');
  const field = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;
  const ranges = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]] as const;
  let jobs = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#') || /^[A-Z_]+=/.test(line)) continue;
    const m = /^(\S+) (\S+) (\S+) (\S+) (\S+)\s+(\S+)\s+(.+)$/.exec(line);
    assert.ok(m, `not a cron.d line: ${line}`);
    m.slice(1, 6).forEach((f, i) => {
      assert.match(f, field, line);
      for (const n of f.match(/\d+/g) ?? []) {
        if (f.includes(`/${n}`)) continue;
        assert.ok(Number(n) >= ranges[i]![0] && Number(n) <= ranges[i]![1], `${f} out of range in ${line}`);
      }
    });
    assert.match(sysusers, new RegExp(`^u ${m[6]} `, 'm'), `user ${m[6]} is not the one movies.sysusers.conf creates`);
    // cron turns an unescaped % into a newline.
    assert.doesNotMatch(m[7]!, /(^|[^\\])%/, line);
    const syntax = sh('sh', ['-n', '-c', m[7]!]);
    assert.equal(syntax.code, 0, `${m[7]}: ${syntax.out}`);
    jobs++;
  }
  assert.equal(jobs, 3);
});

test('every movies command of the units and the cron file is one the CLI accepts', async () => {
  const commands: Array<{ from: string; args: string[] }> = [];
  for (const f of units(install())) {
    for (const exec of values(readFileSync(f, 'utf8'), 'ExecStart')) {
      for (const args of movieCommands(exec, bin)) commands.push({ from: f, args });
    }
  }
  const cron = join(install(['--cron']), 'etc/cron.d/movies');
  for (const line of readFileSync(cron, 'utf8').split('\n')) {
    if (!line.startsWith('#')) for (const args of movieCommands(line, bin)) commands.push({ from: cron, args });
  }
  assert.deepEqual(
    [...new Set(commands.map((c) => c.args.join(' ')))].sort(),
    ['start-etl', 'start-etl --watch --metrics-port 9464', 'status', 'verify --repair'],
  );
  for (const c of commands) assert.equal(await parses(c.args), undefined, `${c.from}: movies ${c.args.join(' ')}`);
  // And the check can fail.
  assert.match((await parses(['start-etl', '--watchh'])) ?? '', /unknown option/);
  assert.match((await parses(['verify', '--page', 'x'])) ?? '', /page/);
});
