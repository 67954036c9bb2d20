import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { root } from './env.js';

/*
 * The three-node OpenSearch cluster of the compatibility matrix, as the test sees it: plain HTTP
 * to its nodes and the services script to stop and start one. MOVIES_TEST_CLUSTER names its
 * nodes (services names); each one's URL and pid are in .services/<name>.pid.json.
 */

export interface ClusterNode {
  name: string;
  url: string;
  pid: number;
}

export interface ShardCopy {
  index: string;
  shard: string;
  prirep: 'p' | 'r';
  state: string;
  node: string | null;
}

export interface Health {
  status: 'green' | 'yellow' | 'red';
  number_of_nodes: number;
  number_of_data_nodes: number;
  unassigned_shards: number;
  timed_out: boolean;
}

export const CLUSTER_HOWTO =
  'run `node scripts/services.mjs up opensearch-cluster`, then ' +
  'MOVIES_TEST_CLUSTER=opensearch-node-1,opensearch-node-2,opensearch-node-3 node --import tsx --test --test-concurrency=1 test/cluster/*.test.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The names MOVIES_TEST_CLUSTER gives (undefined when it is unset or empty). */
export function clusterNames(): string[] | undefined {
  const list = process.env.MOVIES_TEST_CLUSTER?.trim();
  if (!list) return undefined;
  return list.split(',').map((s) => s.trim()).filter(Boolean);
}

/** A node's URL and pid as the services script recorded them (a missing record fails). */
export function nodeRecord(name: string): ClusterNode {
  const file = `${root}.services/${name}.pid.json`;
  assert.ok(existsSync(file), `${file} is missing: cluster node ${name} is not running (${CLUSTER_HOWTO})`);
  const r = JSON.parse(readFileSync(file, 'utf8')) as { url?: string; pid?: number };
  assert.ok(r.url && r.pid, `${file} has no url or pid`);
  return { name, url: r.url.replace(/\/$/, ''), pid: r.pid };
}

export async function getJson<T = unknown>(url: string, init?: RequestInit & { timeoutMs?: number }): Promise<T> {
  const res = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init?.headers ?? {}) },
    signal: AbortSignal.timeout(init?.timeoutMs ?? 30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: HTTP ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

export const health = (url: string, query = '') => getJson<Health>(`${url}/_cluster/health${query ? `?${query}` : ''}`, { timeoutMs: 180_000 });

/**
 * Fails unless every named node answers as itself and the first one sees a cluster of exactly
 * that many nodes: a cluster that is not up must never let the suite pass.
 */
export async function assertClusterUp(names: string[], size: number): Promise<ClusterNode[]> {
  assert.equal(names.length, size, `MOVIES_TEST_CLUSTER names ${names.length} nodes (${names.join(',')}); this suite needs ${size}`);
  const nodes = names.map(nodeRecord);
  for (const n of nodes) {
    const about = await getJson<{ name: string; version: { distribution?: string } }>(`${n.url}/`).catch((err: Error) => {
      throw new Error(`cluster node ${n.name} (${n.url}) does not answer: ${err.message} (${CLUSTER_HOWTO})`);
    });
    assert.equal(about.name, n.name, `${n.url} answers as node "${about.name}", not ${n.name}`);
    assert.equal(about.version.distribution, 'opensearch', `${n.name} is not OpenSearch`);
  }
  const h = await health(nodes[0]!.url, `wait_for_nodes=${size}&timeout=30s`);
  assert.equal(h.number_of_nodes, size, `the cluster has ${h.number_of_nodes} nodes, not ${size}: ${JSON.stringify(h)}`);
  return nodes;
}

/** Where each shard copy of `index` is, as `_cat/shards` says. */
export async function shardsOf(url: string, index: string): Promise<ShardCopy[]> {
  return getJson<ShardCopy[]>(`${url}/_cat/shards/${index}?format=json&h=index,shard,prirep,state,node`);
}

/** The names of the nodes holding a started primary of `index`, with how many each. */
export async function primaryHolders(url: string, index: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const s of await shardsOf(url, index)) {
    if (s.prirep === 'p' && s.state === 'STARTED' && s.node) out.set(s.node, (out.get(s.node) ?? 0) + 1);
  }
  return out;
}

/** The name of the elected cluster manager (master) node. */
export async function clusterManager(url: string): Promise<string> {
  const rows = await getJson<Array<{ node: string }>>(`${url}/_cat/cluster_manager?format=json`);
  assert.ok(rows[0]?.node, `no elected cluster manager: ${JSON.stringify(rows)}`);
  return rows[0].node;
}

/** Runs `node scripts/services.mjs <args>` and fails with its output unless it exits 0. */
export async function services(args: string[]): Promise<{ ms: number; output: string }> {
  const started = performance.now();
  const child = spawn(process.execPath, [`${root}scripts/services.mjs`, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `services.mjs ${args.join(' ')} failed:\n${output}`);
  return { ms: performance.now() - started, output };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stops one node gracefully (SIGTERM through the services script) and checks that it is gone. */
export async function stopNode(node: ClusterNode): Promise<number> {
  const { ms } = await services(['down', node.name]);
  assert.ok(!isAlive(node.pid), `${node.name} (pid ${node.pid}) still runs after services.mjs down`);
  return ms;
}

/**
 * Starts a stopped node again (the services script waits until the cluster has all its nodes)
 * and waits until the whole cluster is green, so that the next test starts with every replica.
 */
export async function restoreNode(node: ClusterNode, via: string, size: number): Promise<Health> {
  await services(['up', node.name]);
  const h = await health(via, `wait_for_nodes=${size}&wait_for_status=green&timeout=150s`);
  assert.ok(!h.timed_out && h.status === 'green' && h.number_of_nodes === size, `cluster after restarting ${node.name}: ${JSON.stringify(h)}`);
  return h;
}

/** Polls `read` until `done` holds of its value, or fails after `timeoutMs` (or when `abort` says so). */
export async function pollUntil<T>(
  what: string,
  read: () => Promise<T>,
  done: (v: T) => boolean,
  o: { timeoutMs: number; intervalMs: number; abort?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    const why = o.abort?.();
    if (why) throw new Error(`${what}: ${why} (last value ${JSON.stringify(v)})`);
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${o.timeoutMs} ms (last value ${JSON.stringify(v)})`);
    await sleep(o.intervalMs);
  }
}
