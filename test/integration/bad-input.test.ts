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
import { ExitCode } from '../../src/errors.js';

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
