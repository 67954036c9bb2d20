// `npm pack` gives a package that works once installed: a global install into a temporary prefix
// (dependencies from the npm registry), run from another directory.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freshDatabase } from '../helpers/db.js';
import { root, serviceEnv } from '../helpers/env.js';

const services = serviceEnv();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe('the packed package', () => {
  let dir: string;
  let files: string[];
  let movies: string;
  let elsewhere: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'movies-pack-'));
    // --ignore-scripts: pack what `npm run build` made, rather than rebuild dist/ under other
    // processes that may be running it (`npm pack` alone runs "prepare", the same tsc build).
    const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root });
    assert.equal(packed.code, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = info!.files.map((f) => f.path);
    const prefix = join(dir, 'prefix');
    mkdirSync(prefix);
    const installed = run('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', join(dir, info!.filename)], {
      cwd: dir,
    });
    assert.equal(installed.code, 0, installed.stderr);
    movies = join(prefix, 'bin', 'movies');
    elsewhere = mkdtempSync(join(tmpdir(), 'movies-cwd-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it('holds the compiled CLI, the launcher and the mappings, and no sources or tests', () => {
    for (const f of ['bin/movies', 'dist/cli/program.js', 'dist/indexes/mapping.js', 'mappings/movies.json', 'mappings/movies.nostem.json', 'mappings/movies.schema.json', 'mappings/persons.json', 'mappings/genres.schema.json']) {
      assert.ok(files.includes(f), `${f} is in the package`);
    }
    assert.deepEqual(files.filter((f) => /^(src|test|scripts|bench|services|fixtures)\//.test(f)), []);
  });

  it('installed, `movies --help` and `--version` work from another directory', () => {
    assert.ok(existsSync(movies), movies);
    const help = run(movies, ['--help'], { cwd: elsewhere });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: movies/);
    assert.doesNotMatch(help.stderr, /not built/);
    const version = run(movies, ['--version'], { cwd: elsewhere });
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), pkg.version);
  });

  it('installed, it finds its shipped mappings by name from another directory', () => {
    const dist = join(movies, '..', '..', 'lib', 'node_modules', pkg.name, 'dist');
    const script =
      `const m = await import(${JSON.stringify(join(dist, 'indexes', 'mapping.js'))}); ` +
      `const { personsIndex } = await import(${JSON.stringify(join(dist, 'indexes', 'persons', 'index.js'))}); ` +
      `console.log(m.resolveMappingPath(personsIndex, 'nostem'));`;
    const r = run(process.execPath, ['--input-type=module', '-e', script], { cwd: elsewhere });
    assert.equal(r.code, 0, r.stderr);
    const path = r.stdout.trim();
    assert.ok(path.startsWith(join(movies, '..', '..')), `${path} is inside the installed package`);
    assert.ok(existsSync(path), path);
  });

  it('installed, its ops/install.sh renders the installed CLI\'s path (found on PATH) into the service files', () => {
    for (const f of ['ops/install.sh', 'ops/systemd/movies-watch.service', 'ops/systemd/movies.sysusers.conf', 'ops/cron/movies']) {
      assert.ok(files.includes(f), `${f} is in the package`);
    }
    const dest = join(dir, 'root');
    const script = join(movies, '..', '..', 'lib', 'node_modules', pkg.name, 'ops', 'install.sh');
    const env = { PATH: `${join(movies, '..')}:${process.env.PATH ?? ''}` };
    for (const extra of [[], ['--cron']]) {
      const r = run('sh', [script, '--root', dest, ...extra], { cwd: elsewhere, env });
      assert.equal(r.code, 0, r.stderr);
    }
    const unit = readFileSync(join(dest, 'etc/systemd/system/movies-watch.service'), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=${movies} start-etl --watch `, 'm'));
    assert.ok(readFileSync(join(dest, 'etc/cron.d/movies'), 'utf8').includes(`; ${movies} start-etl >>`));
  });

  it('installed, it talks to the real database and engine from another directory', async () => {
    const h = await freshDatabase(services.DATABASE_URL);
    try {
      const env = { PATH: process.env.PATH ?? '', DATABASE_URL: h.url, ELASTICSEARCH_URL: services.OPENSEARCH_URL, MOVIES_INDEX: `movies_pkg_${process.pid}`, MOVIES_ONLY: 'movies' };
      const r = run(movies, ['--json', 'status'], { cwd: elsewhere, env });
      assert.equal(JSON.parse(r.stdout).films, 0, r.stderr);
    } finally {
      await h.drop();
    }
  });
});
