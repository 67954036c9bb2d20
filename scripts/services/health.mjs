// Is a server there, and is it healthy: TCP probes, search-server health, waiting for it.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { timeoutSeconds } from './config.mjs';
import { tail } from './files.mjs';
import { ServiceError, rel } from './log.mjs';
import { groupAlive } from './processes.mjs';

async function httpJson(url, { timeoutMs = 5000 } = {}) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not json */
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export async function portInUse(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (v) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * Health of an Elasticsearch/OpenSearch node: {ok, version, status, distribution, nodes} or
 * {ok:false, error}. `minNodes` makes a forming cluster unhealthy until that many nodes joined.
 */
export async function searchHealth(baseUrl, { minNodes = 1 } = {}) {
  try {
    const root = await httpJson(`${baseUrl}/`);
    const health = await httpJson(`${baseUrl}/_cluster/health`);
    if (health.status !== 200 || !health.json) return { ok: false, error: `_cluster/health -> HTTP ${health.status}` };
    const status = health.json.status;
    const nodes = health.json.number_of_nodes;
    const version = root.json?.version?.number ?? null;
    const enough = !(nodes < minNodes);
    return {
      ok: (status === 'green' || status === 'yellow') && enough,
      status,
      version,
      nodes,
      distribution: root.json?.version?.distribution ?? null,
      product: root.headers.get('x-elastic-product'),
      error: status === 'red' ? 'cluster health is red' : enough ? undefined : `${nodes} of ${minNodes} nodes joined`,
    };
  } catch (err) {
    return { ok: false, error: err.cause?.code ?? err.name ?? String(err) };
  }
}

/**
 * Wait until `check()` reports ok, failing early when the process group dies.
 * Returns the last check result.
 */
export async function waitHealthy(label, check, { pgid, logFile, logOffset = 0, timeoutS = timeoutSeconds() }) {
  const deadline = Date.now() + timeoutS * 1000;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last.ok) return last;
    if (pgid && !groupAlive(pgid)) {
      throw new ServiceError(
        `${label} exited during startup${last?.error ? ` (${last.error})` : ''}.\n--- last lines of ${rel(logFile)} ---\n${await tail(logFile, 25, logOffset)}`,
        logFile,
      );
    }
    await sleep(1000);
  }
  throw new ServiceError(
    `${label} was not healthy after ${timeoutS}s (SERVICES_TIMEOUT)${last?.error ? `: ${last.error}` : ''}; it is left running (pid ${pgid}) for inspection, \`npm run services:down\` stops it.\n--- last lines of ${rel(logFile)} ---\n${await tail(logFile, 25, logOffset)}`,
    logFile,
  );
}
