import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { EngineConfig, EngineKind } from '../config.js';
import { ConnectionError, MoviesError, UsageError } from '../errors.js';
import { redactUrl } from '../redact.js';
import { withRetry, type RetryPolicy } from '../retry.js';
import type { SearchEngine } from './types.js';
import { engineAuth } from './auth.js';

interface RootInfo {
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
  body: string;
}

// fetch has no per-request CA option; with a custom CA the request goes through node:https.
function requestRoot(cfg: EngineConfig): Promise<RootResponse> {
  if (!(cfg.caFile && cfg.url.startsWith('https:'))) {
    return fetch(cfg.url, { headers: authHeaders(cfg), signal: AbortSignal.timeout(cfg.requestTimeoutMs) }).then(async (res) => ({
      status: res.status,
      product: res.headers.get('x-elastic-product'),
      body: await res.text(),
    }));
  }
  const agent = new Agent({ ca: readFileSync(cfg.caFile) });
  return new Promise((resolve, reject) => {
    const req = request(cfg.url, { headers: authHeaders(cfg), agent, timeout: cfg.requestTimeoutMs }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, product: String(res.headers['x-elastic-product'] ?? '') || null, body }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function getRoot(cfg: EngineConfig): Promise<{ info: RootInfo; product: string | null }> {
  const res = await requestRoot(cfg);
  if (res.status === 401 || res.status === 403) {
    throw new UsageError(`the search engine at ${redactUrl(cfg.url)} refused our credentials (HTTP ${res.status})`);
  }
  if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}`);
  return { info: JSON.parse(res.body) as RootInfo, product: res.product };
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
  const kind = cfg.engine === 'auto' ? detectKind(root.info, root.product) : cfg.engine;
  const version = root.info.version?.number ?? 'unknown';
  // Only the client in use is loaded: the other costs ~30 MB of RSS and ~0.25 s of startup.
  if (kind === 'opensearch') return (await import('./opensearch.js')).createOpenSearch(cfg, version);
  return (await import('./elasticsearch.js')).createElasticsearch(cfg, version);
}
