import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { EngineConfig, EngineKind } from '../config/types.js';
import { ConnectionError, MoviesError, UsageError } from '../core/errors.js';
import { redactUrl } from '../core/redact.js';
import { withRetry, type RetryPolicy } from '../core/retry.js';
import type { SearchEngine } from './types.js';
import { engineAuth } from './auth.js';

interface RootInfo {
  cluster_uuid?: string;
  version?: { number?: string; distribution?: string };
  tagline?: string;
}

function authHeaders(cfg: EngineConfig): Record<string, string> {
  const auth = engineAuth(cfg);
  if (!auth) return {};
  if ('apiKey' in auth) return { authorization: `ApiKey ${auth.apiKey}` };
  return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
}

export function detectKind(info: RootInfo, productHeader: string | null): EngineKind {
  if (info.version?.distribution === 'opensearch') return 'opensearch';
  if (productHeader === 'Elasticsearch') return 'elasticsearch';
  if (info.tagline?.includes('OpenSearch')) return 'opensearch';
  return 'elasticsearch';
}

interface RootResponse {
  status: number;
  product: string | null;
  contentType: string | null;
  body: string;
}

// fetch has no per-request CA option; with a custom CA the request goes through node:https.
function requestRoot(cfg: EngineConfig): Promise<RootResponse> {
  if (!(cfg.caFile && cfg.url.startsWith('https:'))) {
    return fetch(cfg.url, { headers: authHeaders(cfg), signal: AbortSignal.timeout(cfg.requestTimeoutMs) }).then(
      async (res) => ({
        status: res.status,
        product: res.headers.get('x-elastic-product'),
        contentType: res.headers.get('content-type'),
        body: await res.text(),
      }),
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, a TLS error…) is its cause.
      (err: Error) => {
        throw err.cause instanceof Error ? err.cause : err;
      },
    );
  }
  const agent = new Agent({ ca: readFileSync(cfg.caFile) });
  return new Promise((resolve, reject) => {
    const req = request(cfg.url, { headers: authHeaders(cfg), agent, timeout: cfg.requestTimeoutMs }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          product: String(res.headers['x-elastic-product'] ?? '') || null,
          contentType: res.headers['content-type'] ?? null,
          body,
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Answers after which the same GET / may succeed: a timeout, throttling, or a server or gateway in trouble. */
const isRetryableStatus = (status: number) => status === 408 || status === 429 || status >= 500;

/*
 * TLS failures that asking again cannot fix: the scheme does not match the server (https to a
 * plain HTTP port gives ERR_SSL_WRONG_VERSION_NUMBER), or the certificate is not trusted.
 */
const TLS_CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function tlsMistake(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !(code.startsWith('ERR_SSL_') || TLS_CERT_CODES.has(code))) return undefined;
  // OpenSSL's message carries its internal error stack; its reason alone is what a user needs.
  const e = err as { reason?: unknown; message?: string };
  return `${code}: ${typeof e.reason === 'string' ? e.reason : String(e.message ?? '').split('\n')[0]}`;
}

/** The engine's own error, when the body is one ({"error":{"type","reason"}}), else the content type. */
function describeBody(res: RootResponse): string {
  try {
    const error = (JSON.parse(res.body) as { error?: { type?: unknown; reason?: unknown } }).error;
    if (error && typeof error.type === 'string') return ` (${error.type}: ${String(error.reason ?? '')})`;
  } catch {
    // Not JSON: the content type says enough (an HTML page, plain text).
  }
  return res.contentType ? ` (${res.contentType.split(';')[0]})` : '';
}

/*
 * GET / on Elasticsearch or OpenSearch answers 200 with JSON that has version.number. A server
 * that answers anything else is not one (or the URL has a path), and asking again will not
 * change that: a usage error at once, not a minute of retries.
 */
function notAnEngine(cfg: EngineConfig, answer: string): UsageError {
  const path = new URL(cfg.url).pathname;
  const hint =
    path === '/' || path === ''
      ? 'is another service listening on that port?'
      : `it must be the server's root URL, without a path such as "${path}"`;
  return new UsageError(
    `${cfg.urlName ?? 'ELASTICSEARCH_URL'} (${redactUrl(cfg.url)}) does not look like Elasticsearch or OpenSearch: ` +
      `it answered ${answer}; ${hint}`,
  );
}

async function getRoot(cfg: EngineConfig): Promise<{ info: RootInfo; product: string | null }> {
  let res: RootResponse;
  try {
    res = await requestRoot(cfg);
  } catch (err) {
    // Node's fetch refuses the Fetch standard's "bad ports" (6000, 6665-6669, 10080 …) before
    // connecting; asking again cannot help.
    if (err instanceof Error && err.message === 'bad port') {
      throw new UsageError(
        `${cfg.urlName ?? 'ELASTICSEARCH_URL'} (${redactUrl(cfg.url)}): port ${new URL(cfg.url).port} is one Node.js ` +
          `refuses to connect to (a "bad port" of the Fetch standard); run the engine, or a proxy to it, on another port`,
        { cause: err },
      );
    }
    const tls = tlsMistake(err);
    if (tls) {
      throw new UsageError(
        `${cfg.urlName ?? 'ELASTICSEARCH_URL'} (${redactUrl(cfg.url)}): TLS failed (${tls}); check the URL's scheme and ELASTICSEARCH_CA`,
        { cause: err },
      );
    }
    throw err;
  }
  if (res.status === 401 || res.status === 403) {
    throw new UsageError(`the search engine at ${redactUrl(cfg.url)} refused our credentials (HTTP ${res.status})`);
  }
  if (isRetryableStatus(res.status)) throw new Error(`HTTP ${res.status}`);
  if (res.status < 200 || res.status >= 300) throw notAnEngine(cfg, `HTTP ${res.status}${describeBody(res)}`);
  let info: RootInfo;
  try {
    info = JSON.parse(res.body) as RootInfo;
  } catch {
    throw notAnEngine(cfg, `HTTP ${res.status} with a body that is not JSON${describeBody(res)}`);
  }
  if (typeof info?.version?.number !== 'string') {
    throw notAnEngine(cfg, `HTTP ${res.status} with JSON that has no version.number`);
  }
  return { info, product: res.product };
}

/** Connects to the engine named by --engine, or to whichever product GET / reports. */
export async function connectEngine(cfg: EngineConfig, policy: RetryPolicy): Promise<SearchEngine> {
  let root: { info: RootInfo; product: string | null };
  try {
    root = await withRetry(() => getRoot(cfg), policy, {
      isRetryable: (e) => !(e instanceof MoviesError),
      describe: (e) => `search engine unreachable (${(e as Error).message})`,
    });
  } catch (err) {
    if (err instanceof MoviesError) throw err;
    throw new ConnectionError(
      `cannot reach the search engine at ${redactUrl(cfg.url)}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const kind = detectKind(root.info, root.product);
  const version = root.info.version?.number ?? 'unknown';
  // Each client's product check refuses the other server, or worse, half-works with it: a
  // mismatch is a mistake in the configuration, said at once rather than met mid-run.
  if (cfg.engine !== 'auto' && cfg.engine !== kind) {
    throw new UsageError(
      `${cfg.engineName ?? '--engine'} ${cfg.engine} does not match the server at ${redactUrl(cfg.url)}: it reports ` +
        `${kind} ${version}; use ${cfg.engineName ?? '--engine'} ${kind}, or auto`,
    );
  }
  // A cluster that has not elected a master yet says "_na_"; it names no cluster.
  const cluster = root.info.cluster_uuid && root.info.cluster_uuid !== '_na_' ? root.info.cluster_uuid : 'unknown';
  // Only the client in use is loaded: the other costs ~30 MB of RSS and ~0.25 s of startup.
  if (kind === 'opensearch') return (await import('./opensearch.js')).createOpenSearch(cfg, version, cluster);
  return (await import('./elasticsearch.js')).createElasticsearch(cfg, version, cluster);
}
