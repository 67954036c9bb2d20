import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { root } from '../helpers/env.js';
import { ENGINES } from '../helpers/engines.js';
import { HttpFaultProxy } from '../helpers/http-proxy.js';
import { engineCatalogue, type Catalogue } from '../helpers/catalogue.js';
import { freePort, startWatch, within, type Watch } from '../helpers/watch.js';
import { FAILURE_KINDS } from '../../src/watch/metrics.js';

/*
 * The shipped alert rules (ops/prometheus/) against Debian's prometheus package: promtool checks
 * and unit-tests them, and a real Prometheus scrapes a running watch and raises an alert when
 * the watch turns unhealthy. Without promtool or prometheus the suite says it is skipped.
 */
const rulesDir = join(root, 'ops/prometheus');
const has = (bin: string) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
const missing = ['promtool', 'prometheus'].filter((b) => !has(b));
const skip = missing.length ? `${missing.join(' and ')} not installed (Debian: apt-get install prometheus)` : false;
const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;

const promtool = (args: string[], cwd = rulesDir) => spawnSync('promtool', args, { cwd, encoding: 'utf8' });

describe('the shipped Prometheus rules', { skip }, () => {
  it('promtool check rules and promtool test rules pass on ops/prometheus/movies.rules.yml', () => {
    const check = promtool(['check', 'rules', 'movies.rules.yml']);
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const test = promtool(['test', 'rules', 'movies.rules.test.yml']);
    assert.equal(test.status, 0, test.stdout + test.stderr);
    // Every alert of the rules file has a test that sees it fire.
    const alerts = [...readFileSync(join(rulesDir, 'movies.rules.yml'), 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
    const tests = readFileSync(join(rulesDir, 'movies.rules.test.yml'), 'utf8');
    for (const a of alerts) assert.match(tests, new RegExp(`alertname: ${a}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${a} is seen firing`);
  });
});

describe('a real Prometheus scraping a watch', { skip }, () => {
  let c: Catalogue;
  let dir: string;
  let prometheus: ChildProcess | undefined;
  let es: HttpFaultProxy;
  let w: Watch | undefined;
  let api = '';
  before(async () => {
    c = await engineCatalogue(engine, { films: 20, seed: 29, name: 'prometheus' });
    dir = mkdtempSync(join(tmpdir(), 'movies-prometheus-'));
    es = new HttpFaultProxy(engine.url);
    es.match = /.*/;
    await es.start();
  });
  after(async () => {
    prometheus?.kill('SIGKILL');
    await w?.stop();
    await es?.stop();
    await c?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const query = async (q: string) => {
    const res = (await (await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    return res.data.result;
  };

  it('scrapes it (up 1, movies_build_info, every movies_failures_total at 0) and fires MoviesWatchUnhealthy when the watch turns unhealthy', async () => {
    w = await startWatch({ ...c.env, ELASTICSEARCH_URL: es.url() }, ['--poll-interval', '1', '--max-retry-time', '1']);
    await within(15_000, () => `healthy (${w!.stderr})`, async () => (await w!.health()) === 200);
    const metricsPort = w.child.spawnargs[w.child.spawnargs.indexOf('--metrics-port') + 1];
    // The shipped rules, with every `for:` cut to 2 s so that an alert fires within the test.
    writeFileSync(join(dir, 'movies.rules.yml'), readFileSync(join(rulesDir, 'movies.rules.yml'), 'utf8').replace(/for: \w+/g, 'for: 2s'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        'rule_files: [movies.rules.yml]',
        `scrape_configs: [{job_name: movies, static_configs: [{targets: ["127.0.0.1:${metricsPort}"]}]}]`,
      ].join('\n'),
    );
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    let log = '';
    prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    prometheus.stderr!.on('data', (d) => (log += d));
    const ready = await within(15_000, () => `Prometheus ready (${log.slice(-800)})`, async () => (await fetch(`${api}/-/ready`).then((r) => r.status, () => 0)) === 200);
    const scraped = await within(10_000, () => `up{job="movies"} == 1 (${log.slice(-400)})`, async () => (await query('up{job="movies"} == 1')).length === 1);
    console.log(`Prometheus ready in ${ready} ms, first scrape ${scraped} ms later`);

    const info = await query('movies_build_info');
    assert.equal(info.length, 1, JSON.stringify(info));
    assert.equal(info[0]!.metric.engine, engine.name);
    assert.equal(info[0]!.metric.node, process.version);
    assert.equal(info[0]!.metric.version, (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
    const failures = await query('movies_failures_total');
    assert.deepEqual(failures.map((f) => f.metric.kind).sort(), [...FAILURE_KINDS].sort());
    assert.ok(failures.every((f) => f.value[1] === '0'), JSON.stringify(failures));
    assert.equal((await query('process_cpu_seconds_total{job="movies"}')).length, 1, 'standard process metrics');

    // The engine answers 503 to everything: the next change fails its cycle, /healthz and movies_healthy turn.
    es.fault = () => ({ status: 503, body: '{"error":"unavailable"}' });
    await c.db('content.film_work').update({ title: 'Unindexable' }).whereIn('id', c.db('content.film_work').select('id').limit(3));
    const states: string[] = [];
    const firing = await within(20_000, async () => `MoviesWatchUnhealthy firing (seen: ${states.join(', ')}; ${JSON.stringify(await w!.healthz())})`, async () => {
      const alerts = ((await (await fetch(`${api}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: { alertname: string }; state: string }> } }).data.alerts;
      const a = alerts.find((x) => x.labels.alertname === 'MoviesWatchUnhealthy');
      if (a && states.at(-1) !== a.state) states.push(a.state);
      return a?.state === 'firing';
    });
    console.log(`MoviesWatchUnhealthy: ${states.join(' then ')}, firing ${firing} ms after the change`);
    assert.equal(states[0], 'pending', 'pending before firing');
    assert.equal((await query('ALERTS{alertname="MoviesWatchDown"}')).length, 0, 'the watch is not down');
    es.fault = undefined;
  });
});

describe('the cron textfile recipe (ops/prometheus/movies-status-textfile.sh)', { skip }, () => {
  let c: Catalogue;
  before(async () => {
    c = await engineCatalogue(engine, { films: 10, seed: 31, name: 'textfile' });
  });
  after(async () => c?.cleanup());

  it('writes status\'s exit code and the time it ran, in a file promtool accepts, and exits with status\'s code', async () => {
    const closed = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'movies-textfile-'));
    try {
      const run = (env: Record<string, string>) =>
        spawnSync('sh', [join(rulesDir, 'movies-status-textfile.sh'), '--max-retry-time', '1'], {
          env: { PATH: process.env.PATH ?? '', MOVIES_ONLY: 'movies', ...c.env, MOVIES_TEXTFILE_DIR: dir, MOVIES_BIN: `${process.execPath} ${root}bin/movies`, ...env },
          encoding: 'utf8',
          timeout: 60_000,
        });
      const file = join(dir, 'movies_status_movies.prom');
      const ok = run({});
      assert.equal(ok.status, 0, ok.stderr);
      const text = readFileSync(file, 'utf8');
      assert.match(text, /^movies_status_exit_code\{name="movies"\} 0$/m);
      const at = Number(/^movies_status_last_run_timestamp_seconds\{name="movies"\} (\d+)$/m.exec(text)?.[1]);
      assert.ok(Math.abs(at - Date.now() / 1000) < 60, `timestamp ${at}`);
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(lint.status, 0, lint.stdout + lint.stderr);
      // The engine unreachable: status exits 3, and the file says so.
      const down = run({ ELASTICSEARCH_URL: `http://127.0.0.1:${closed}`, MOVIES_STATUS_NAME: 'movies' });
      assert.equal(down.status, 3, down.stderr);
      assert.match(readFileSync(file, 'utf8'), /^movies_status_exit_code\{name="movies"\} 3$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
