import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { root } from './env.js';
import type { Catalogue } from './catalogue.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A `start-etl --watch` child process, with its stderr kept and its /healthz and /metrics at hand. */
export async function startWatch(env: Record<string, string>, args: string[] = []) {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [`${root}bin/movies`, 'start-etl', '--watch', '--metrics-port', String(port), ...args], {
    env: { PATH: process.env.PATH ?? '', MOVIES_ONLY: 'movies', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => (stdout += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
  const healthz = async (): Promise<{ status: number; reason: string }> => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      return { status: res.status, reason: ((await res.json()) as { reason: string }).reason };
    } catch {
      return { status: 0, reason: 'no answer' };
    }
  };
  for (let i = 0; i < 300 && (await healthz()).status === 0; i++) await sleep(50);
  return {
    child,
    exited,
    health: async () => (await healthz()).status,
    healthz,
    metrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
    /** One series' value (`name{labels}`), undefined when /metrics does not have it. */
    async gauge(series: string): Promise<number | undefined> {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    },
    get stderr() {
      return stderr;
    },
    get stdout() {
      return stdout;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export type Watch = Awaited<ReturnType<typeof startWatch>>;

/** Waits until `check` holds, at most `ms`; returns how long it took. */
export async function within(ms: number, what: string | (() => string | Promise<string>), check: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) assert.fail(`${typeof what === 'string' ? what : await what()}: not within ${ms} ms`);
    await sleep(20);
  }
  return Date.now() - t0;
}

/** The film's title as a search finds it (a GET by id would see it before any refresh, on Elasticsearch). */
export async function titleInIndex(c: Catalogue, id: string): Promise<string | undefined> {
  const res = await fetch(`${c.engineUrl}/${c.index}/_search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: { ids: { values: [id] } } }),
  });
  const hits = ((await res.json()) as { hits?: { hits?: Array<{ _source: { title: string } }> } }).hits?.hits ?? [];
  return hits[0]?._source.title;
}
