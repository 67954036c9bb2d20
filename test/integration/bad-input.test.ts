import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, type CliRun } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';
import { root, serviceEnv } from '../helpers/env.js';
import { ExitCode } from '../../src/core/errors.js';

/*
 * Configuration mistakes must end at once with exit 2 and the reason. Every run here uses the
 * default retry budget (60 s): a mistake treated as an outage would take a minute and exit 3.
 */
const services = serviceEnv();
const FAST_MS = 10_000;

async function timed(run: Promise<CliRun>): Promise<CliRun & { ms: number }> {
  const started = Date.now();
  const r = await run;
  return { ...r, ms: Date.now() - started };
}

function assertUsage(r: CliRun & { ms: number }, pattern: RegExp, what: string): void {
  assert.equal(r.code, ExitCode.usage, `${what}: exit ${r.code}, stderr: ${r.stderr}`);
  assert.match(r.stderr, pattern, what);
  assert.ok(r.ms < FAST_MS, `${what}: took ${r.ms} ms, as if it were retried`);
}

describe('bad input: malformed database URLs', () => {
  // Each URL carries a password with "hunter2" in it, which must never be printed.
  const cases: Array<[string, RegExp]> = [
    ['postgres://etl:%zz-hunter2@127.0.0.1:5432/movies', /DATABASE_URL.*password.*percent/i],
    ['postgres://etl:hunter2@127.0.0.1:notaport/movies', /DATABASE_URL.*port/],
    ['postgres://etl:hunter2@127.0.0.1:99999/movies', /DATABASE_URL.*port/],
    ['postgres://etl:hunter2@127.0.0.1:0/movies', /DATABASE_URL.*port/],
    ['postgres:///', /DATABASE_URL.*host/],
    ['postgres://etl:hunter2@:5432/movies', /DATABASE_URL.*host/],
    ['postgresql://[::1', /DATABASE_URL.*(IPv6|\])/],
    ['postgres://etl:pa/ss-hunter2@127.0.0.1:5432/movies', /DATABASE_URL.*percent-encode/],
    ['postgres://etl:hunter2@127.0.0.1:5432/movies?sslmode=bogus', /DATABASE_URL.*sslmode "bogus"/],
  ];
  for (const [url, pattern] of cases) {
    it(`exits 2 with the reason for ${url.replace(/hunter2/, '…')}`, async () => {
      const r = await timed(runCli(['status'], { DATABASE_URL: url, ELASTICSEARCH_URL: services.OPENSEARCH_URL }));
      assertUsage(r, pattern, url);
      assert.doesNotMatch(r.stdout + r.stderr, /hunter2/, url);
      assert.doesNotMatch(r.stderr, /unexpected failure/, url);
    });
  }

  it('names --database-url when the flag is what was given', async () => {
    const r = await timed(
      runCli(['--database-url', 'postgres://etl:hunter2@127.0.0.1:notaport/movies', 'status'], {
        DATABASE_URL: services.DATABASE_URL,
        ELASTICSEARCH_URL: services.OPENSEARCH_URL,
      }),
    );
    assertUsage(r, /--database-url.*port/, 'flag');
    assert.doesNotMatch(r.stderr, /hunter2/);
  });
});

describe('bad input: sslmode against a server without SSL', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  before(async () => {
    database = await freshDatabase(services.DATABASE_URL, 'movies_badin');
  });
  after(() => database.drop());
  const withParam = (param: string) => `${database.url}${database.url.includes('?') ? '&' : '?'}${param}`;

  it('sslmode=disable still connects (the parameter itself is accepted)', async () => {
    const r = await runCli(['migrate'], { DATABASE_URL: withParam('sslmode=disable') });
    assert.equal(r.code, ExitCode.ok, r.stderr);
  });

  for (const mode of ['require', 'verify-full']) {
    it(`sslmode=${mode} is a usage error at once, not an outage`, async () => {
      const r = await timed(runCli(['migrate'], { DATABASE_URL: withParam(`sslmode=${mode}`) }));
      assertUsage(r, /SSL.*sslmode/, mode);
    });
  }
});

describe('bad input: generate --out', () => {
  let top: string;
  before(() => {
    top = mkdtempSync(join(tmpdir(), 'movies-bad-out-'));
  });
  after(() => {
    chmodSync(top, 0o755);
    rmSync(top, { recursive: true, force: true });
  });
  /** An empty directory of the test's own, so each test stands alone. */
  const fresh = () => mkdtempSync(join(top, 'case-'));

  const generate = (out: string) => timed(runCli(['generate', '--films', '50', '--out', out], {}));

  it('a directory that does not exist', async () => {
    const dir = fresh();
    const r = await generate(join(dir, 'missing', 'films.json'));
    assertUsage(r, /cannot write --out .*missing.*no such file or directory/, 'missing dir');
    assert.deepEqual(readdirSync(dir), []);
  });

  it('a path that is a directory', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'adir'));
    const r = await generate(join(dir, 'adir'));
    assertUsage(r, /cannot write --out .*adir.*is a directory/, 'directory');
    assert.deepEqual(readdirSync(dir), ['adir']);
    assert.deepEqual(readdirSync(join(dir, 'adir')), []);
  });

  it('a place we may not write to', async (t) => {
    // root ignores file modes; sysfs refuses new files even to root.
    let out: string;
    let watched: string | undefined;
    if (process.getuid?.() !== 0) {
      watched = fresh();
      chmodSync(watched, 0o555);
      out = join(watched, 'films.json');
    } else if (existsSync('/sys/kernel')) {
      out = '/sys/kernel/movies-bad-input.json';
    } else {
      t.skip('running as root without /sys: no place to test EACCES');
      return;
    }
    const r = await generate(out);
    if (watched) chmodSync(watched, 0o755);
    assertUsage(r, /cannot write --out .*(permission denied|read-only file system)/i, 'no permission');
    if (watched) assert.deepEqual(readdirSync(watched), []);
    assert.ok(!existsSync(out));
  });

  it('a device that fails mid-write (/dev/full) is reported, not a crash', async (t) => {
    if (!existsSync('/dev/full')) return t.skip('no /dev/full');
    const r = await generate('/dev/full');
    assertUsage(r, /cannot write --out \/dev\/full.*no space left on device/i, '/dev/full');
  });

  it('a write that fails half-way leaves no partial file behind', async () => {
    // The file size limit (ulimit -f, 512-byte blocks in sh) stops the write at 8 KB with EFBIG.
    const dir = fresh();
    const out = join(dir, 'big.json');
    const started = Date.now();
    const r = await new Promise<CliRun & { ms: number }>((resolve) => {
      const script = 'ulimit -f 16 && exec "$0" "$1" generate --films 2000 --out "$2"';
      const child = spawn('sh', ['-c', script, process.execPath, `${root}bin/movies`, out], { env: { PATH: process.env.PATH ?? '' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
    });
    assertUsage(r, /cannot write --out .*big\.json.*(file too large|EFBIG)/i, 'EFBIG');
    assert.deepEqual(readdirSync(dir), []);
  });

  it('a good path gets the whole fixture, replacing an old file', async () => {
    const dir = fresh();
    const out = join(dir, 'films.json');
    writeFileSync(out, 'old content');
    const r = await generate(out);
    assert.equal(r.code, ExitCode.ok, r.stderr);
    const objects = JSON.parse(readFileSync(out, 'utf8')) as unknown[];
    assert.match(r.stdout, new RegExp(`wrote ${objects.length} objects`));
    assert.deepEqual(readdirSync(dir), ['films.json']);
  });
});

describe('bad input: an engine URL that answers but is not a search engine', () => {
  let server: http.Server;
  let base = '';
  const hits = new Map<string, number>();
  const pages: Record<string, { status: number; type: string; body: string }> = {
    '/bad-request': { status: 400, type: 'text/plain', body: 'Bad Request' },
    '/not-found': { status: 404, type: 'text/html', body: '<html><body>Not Found</body></html>' },
    '/no-get': { status: 405, type: 'text/plain', body: 'Method Not Allowed' },
    '/html': { status: 200, type: 'text/html', body: '<!doctype html><html><body>Welcome to nginx!</body></html>' },
    '/json-no-version': { status: 200, type: 'application/json', body: '{"status":"ok","service":"something else"}' },
    '/unavailable': { status: 503, type: 'text/plain', body: 'Service Unavailable' },
  };

  before(async () => {
    server = http.createServer((req, res) => {
      const path = req.url ?? '/';
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const page = pages[path] ?? { status: 404, type: 'text/plain', body: 'no such page' };
      res.writeHead(page.status, { 'content-type': page.type }).end(page.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const search = (url: string, args: string[] = []) =>
    timed(runCli([...args, 'search', 'matrix'], { DATABASE_URL: services.DATABASE_URL, ELASTICSEARCH_URL: url }));

  for (const path of ['/bad-request', '/not-found', '/no-get', '/html', '/json-no-version']) {
    it(`${path} (HTTP ${pages[path]!.status}) is a usage error after one request`, async () => {
      const url = `http://elastic:hunter2@${base.slice('http://'.length)}${path}`;
      const r = await search(url);
      assertUsage(r, /ELASTICSEARCH_URL.*does not look like Elasticsearch or OpenSearch/, path);
      assert.doesNotMatch(r.stdout + r.stderr, /hunter2/, path);
      assert.equal(hits.get(path), 1, `${path} was requested ${hits.get(path)} times`);
    });
  }

  it('names --es-url when the flag is what was given', async () => {
    const r = await search(`${base}/html`, ['--es-url', `${base}/html`]);
    assertUsage(r, /--es-url.*does not look like Elasticsearch or OpenSearch/, 'flag');
  });

  it('HTTPS to a plain HTTP server is a usage error at once', async () => {
    const r = await search(base.replace('http:', 'https:'));
    assertUsage(r, /ELASTICSEARCH_URL.*(TLS|SSL)/, 'https to http');
  });

  it('HTTPS with a certificate nobody vouches for is a usage error at once', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'movies-tls-'));
    try {
      try {
        execFileSync('openssl', [
          'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
          '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        ], { stdio: 'ignore' });
      } catch {
        return t.skip('SKIPPED: openssl is not available to make a self-signed certificate');
      }
      const tls = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"version":{"number":"9.0.0"}}'),
      );
      await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
      try {
        const r = await search(`https://127.0.0.1:${(tls.address() as AddressInfo).port}`);
        assertUsage(r, /ELASTICSEARCH_URL.*TLS failed \(DEPTH_ZERO_SELF_SIGNED_CERT.*ELASTICSEARCH_CA/, 'self-signed');
      } finally {
        tls.closeAllConnections();
        await new Promise<void>((resolve) => tls.close(() => resolve()));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a 503 stays an outage: retried within the budget, then exit 3', async () => {
    hits.delete('/unavailable');
    const r = await search(`${base}/unavailable`, ['--max-retry-time', '2']);
    assert.equal(r.code, ExitCode.connection, r.stderr);
    assert.ok((hits.get('/unavailable') ?? 0) > 1, `requested ${hits.get('/unavailable')} times`);
    assert.ok(r.ms >= 2_000, `gave up after ${r.ms} ms`);
  });

  for (const [name, url] of [
    ['OpenSearch', services.OPENSEARCH_URL],
    ['Elasticsearch', services.ELASTICSEARCH_URL],
  ] as const) {
    it(`the real ${name} at a wrong path (an index name in the URL) is a usage error at once`, async () => {
      const r = await search(`${url}/nonexistent`);
      assertUsage(r, /does not look like Elasticsearch or OpenSearch.*HTTP 404/, name);
      assert.match(r.stderr, /without a path|server's root/);
    });
  }
});

describe('bad input: the same mistakes through status and a closed pipe', () => {
  it('status with an engine URL that is not a search engine exits 2, not 3', async () => {
    const r = await timed(runCli(['status'], { DATABASE_URL: services.DATABASE_URL, ELASTICSEARCH_URL: `${services.OPENSEARCH_URL}/nonexistent` }));
    assertUsage(r, /does not look like Elasticsearch or OpenSearch/, 'status');
  });

  it('generate into a pipe its reader closes early (| head) ends quietly with exit 0', async () => {
    // bash reports the exit code of the first command of the pipeline, the movies process.
    const child = spawn('bash', ['-c', `${process.execPath} ${root}bin/movies generate --films 50000 | head -c 100 >/dev/null; exit \${PIPESTATUS[0]}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /error/);
  });
});
