import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TIME = '/usr/bin/time';

export const baseUrl = () => process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/movies';
export const engineUrl = () => process.env.OPENSEARCH_URL ?? 'http://127.0.0.1:9201';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time of the whole child process, spawn to exit. */
  seconds: number;
  /** Peak resident set size of the node process (ru_maxrss via GNU time, else sampled VmHWM). */
  peakRssMb: number;
  /** User + system CPU seconds of the CLI process (GNU time only). */
  cpuSeconds: number;
  json?: Record<string, unknown>;
}

export interface RunOptions {
  /** The checkout whose built CLI runs (default: this one); before/after benchmarks pass two. */
  root?: string;
  /**
   * Only PATH, HOME and `env` reach the CLI, so that a stray MOVIES_* in the caller cannot
   * change one side of a comparison.
   */
  cleanEnv?: boolean;
}

/** Runs `node bin/movies ...args` (the built dist/) as a child process and measures it. */
export async function runCli(args: string[], env: Record<string, string>, o: RunOptions = {}): Promise<CliRun> {
  const useTime = existsSync(TIME);
  const root = o.root ?? ROOT;
  const bin = join(root, 'bin/movies');
  const dir = mkdtempSync(join(tmpdir(), 'movies-bench-'));
  const rssFile = join(dir, 'rss');
  const [cmd, argv] = useTime
    ? [TIME, ['-f', '%M %U %S', '-o', rssFile, process.execPath, bin, ...args]]
    : [process.execPath, [bin, ...args]];
  const started = performance.now();
  const base = o.cleanEnv ? { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } : process.env;
  const child = spawn(cmd, argv, { cwd: root, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let sampledKb = 0;
  const sampler = useTime
    ? undefined
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) sampledKb = Math.max(sampledKb, Number(m[1]));
        } catch {
          /* exited */
        }
      }, 20);
  const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  const seconds = (performance.now() - started) / 1000;
  if (sampler) clearInterval(sampler);
  let kb = sampledKb;
  let cpuSeconds = NaN;
  if (useTime) {
    const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
    const [m, u, s] = lines[lines.length - 1]!.split(' ').map(Number);
    kb = m!;
    cpuSeconds = u! + s!;
  }
  rmSync(dir, { recursive: true, force: true });
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr, seconds, peakRssMb: kb / 1024, cpuSeconds, json };
}

export async function mustRun(args: string[], env: Record<string, string>, o: RunOptions = {}): Promise<CliRun> {
  const r = await runCli(args, env, o);
  if (r.code !== 0) throw new Error(`${o.root ?? ''} movies ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return r;
}

/** `node DIR/bin/movies ...args` of another checkout, measured, with only `env` set; throws unless it exits 0. */
export async function mustRunIn(dir: string, args: string[], env: Record<string, string>): Promise<CliRun & { json: Record<string, unknown> }> {
  const r = await mustRun(args, env, { root: dir, cleanEnv: true });
  return { ...r, json: r.json ?? {} };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  postgres: string;
  engine: string;
  os: string;
}

export async function machine(): Promise<Machine> {
  const c = new pg.Client({ connectionString: baseUrl() });
  await c.connect();
  const v = await c.query<{ v: string }>("SELECT current_setting('server_version') AS v").finally(() => c.end());
  const info = (await (await fetch(engineUrl())).json()) as { version?: { number?: string; distribution?: string } };
  let os: string = process.platform;
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {
    /* not Linux */
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    postgres: v.rows[0]!.v,
    engine: `${info.version?.distribution ?? 'elasticsearch'} ${info.version?.number ?? '?'}`,
    os,
  };
}

/** 1-minute load average: the benchmark shares the machine, so every sample records it. */
export const load1 = () => Math.round(loadavg()[0]! * 100) / 100;

/*
 * CPU seconds, to show where a run's time goes on a machine whose cores PostgreSQL, the engine
 * and the CLI share: the engine's JVM, every PostgreSQL process (including backends that
 * already exited, through the postmaster's reaped-children times), and the whole machine.
 */
export interface CpuSnapshot {
  engine: number;
  postgres: number;
  machineBusy: number;
}

const HZ = 100;

function procTimes(pid: string): { self: number; children: number; comm: string; cmd: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    // Fields after the comm: state(0) ... utime(11) stime(12) cutime(13) cstime(14).
    const self = (Number(f[11]) + Number(f[12])) / HZ;
    const children = (Number(f[13]) + Number(f[14])) / HZ;
    return { self, children, comm, cmd: comm === 'java' ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '' };
  } catch {
    return undefined;
  }
}

export function cpuSnapshot(): CpuSnapshot {
  let engine = 0;
  let postgres = 0;
  if (process.platform === 'linux') {
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      const t = procTimes(pid);
      if (!t) continue;
      if (t.comm === 'postgres') postgres += t.self + t.children;
      else if (t.comm === 'java' && /opensearch/i.test(t.cmd) && !/elasticsearch/i.test(t.cmd)) engine += t.self;
    }
  }
  let machineBusy = 0;
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    machineBusy = (cpu[0]! + cpu[1]! + cpu[2]! + cpu[5]! + cpu[6]! + cpu[7]!) / HZ;
  } catch {
    /* not Linux */
  }
  return { engine, postgres, machineBusy };
}

export function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): CpuSnapshot {
  return { engine: b.engine - a.engine, postgres: b.postgres - a.postgres, machineBusy: b.machineBusy - a.machineBusy };
}
