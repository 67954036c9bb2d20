// Shared helpers for scripts/services.mjs (node builtins only).
import { parseEnvFile } from '../env-file.mjs';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export { sleep };

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SVC_DIR = path.join(ROOT, '.services');
export const CACHE_DIR = path.join(SVC_DIR, 'cache');
export const LOG_DIR = path.join(SVC_DIR, 'logs');
export const ENV_FILE = path.join(SVC_DIR, 'env');
export const SERVICE_USER = 'movies-svc';

export function rel(p) {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}

export function log(msg) {
  console.log(`[services] ${msg}`);
}

export function warn(msg) {
  console.warn(`[services] WARNING: ${msg}`);
}

export class ServiceError extends Error {
  constructor(message, logFile) {
    super(message);
    this.logFile = logFile;
  }
}

export function timeoutSeconds() {
  const v = Number(process.env.SERVICES_TIMEOUT);
  return Number.isFinite(v) && v > 0 ? v : 180;
}

export function envPort(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ServiceError(`${name}=${raw} is not a valid port`);
  return n;
}

export async function ensureDirs() {
  for (const d of [SVC_DIR, CACHE_DIR, LOG_DIR]) await fsp.mkdir(d, { recursive: true });
}

export async function exists(p) {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}

export function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

export async function readJson(file) {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch {
    return null;
  }
}

export async function writeFileAtomic(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, data);
  await fsp.rename(tmp, file);
}

/** Last `lines` lines of a log file (for error reports). */
export async function tail(file, lines = 25, fromOffset = 0) {
  try {
    const buf = await fsp.readFile(file);
    const text = buf.subarray(Math.min(fromOffset, buf.length)).toString('utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Run a command to completion. Output goes to `logFile` (appended) when given,
 * otherwise it is captured and returned.
 */
export function run(cmd, args, { env, cwd, logFile, input, timeoutMs } = {}) {
  return new Promise((resolve) => {
    let out;
    let stdio = ['pipe', 'pipe', 'pipe'];
    if (logFile) {
      out = fs.openSync(logFile, 'a');
      fs.writeSync(out, `\n$ ${cmd} ${args.join(' ')}\n`);
      stdio = ['pipe', out, out];
    }
    let stdout = '';
    let stderr = '';
    let child;
    try {
      child = spawn(cmd, args, { env: env ?? process.env, cwd: cwd ?? ROOT, stdio });
    } catch (err) {
      if (out !== undefined) fs.closeSync(out);
      resolve({ code: 127, stdout, stderr: String(err) });
      return;
    }
    let timer;
    if (timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    child.on('error', (err) => {
      stderr += String(err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (out !== undefined) fs.closeSync(out);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin?.end();
  });
}

/**
 * Maven runs are serialised (two cold downloads must not race in ~/.m2) in the order in which
 * slots were taken: `up` takes its slot synchronously, so Elasticsearch (a single zip, quick)
 * goes before OpenSearch (~120 jars). A slot must be released when its Maven step is done or
 * not needed, so that the next one can proceed.
 */
let mavenChain = Promise.resolve();
export function mavenSlot() {
  const prev = mavenChain;
  let release;
  const done = new Promise((r) => (release = r));
  mavenChain = prev.then(() => done);
  let released = false;
  const slot = {
    async run(fn) {
      await prev;
      try {
        return await fn();
      } finally {
        slot.release();
      }
    },
    release() {
      if (!released) {
        released = true;
        release();
      }
    },
  };
  return slot;
}

export async function mvn(args, logFile) {
  const env = { ...process.env };
  const res = await run('mvn', ['-B', '--no-transfer-progress', ...args], { logFile, env });
  if (res.code === 127) throw new ServiceError('`mvn` (Apache Maven) is not installed or not on PATH');
  return res.code === 0;
}

// ---------------------------------------------------------------- JDKs

/** JDKs (with javac) found under /usr/lib/jvm and $JAVA_HOME, newest first. */
export async function findJdks() {
  const candidates = new Set();
  // SERVICES_JAVA_HOME pins the JDK (e.g. to test the Java 17 fallbacks); otherwise scan.
  const roots = process.env.SERVICES_JAVA_HOME ? [] : ['/usr/lib/jvm', '/usr/local/lib/jvm', '/opt/java'];
  for (const root of roots) {
    let names = [];
    try {
      names = await fsp.readdir(root);
    } catch {
      continue;
    }
    for (const n of names) candidates.add(path.join(root, n));
  }
  if (process.env.SERVICES_JAVA_HOME) candidates.add(process.env.SERVICES_JAVA_HOME);
  else if (process.env.JAVA_HOME) candidates.add(process.env.JAVA_HOME);
  const seen = new Set();
  const jdks = [];
  for (const c of candidates) {
    let real;
    try {
      real = await fsp.realpath(c);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    if (!(await exists(path.join(real, 'bin', 'java'))) || !(await exists(path.join(real, 'bin', 'javac')))) continue;
    let version = null;
    try {
      const release = await fsp.readFile(path.join(real, 'release'), 'utf8');
      version = /^JAVA_VERSION="([^"]+)"/m.exec(release)?.[1] ?? null;
    } catch {
      const r = await run(path.join(real, 'bin', 'java'), ['-version']);
      version = /version "([^"]+)"/.exec(r.stderr)?.[1] ?? null;
    }
    if (!version) continue;
    const major = Number(version.startsWith('1.') ? version.split('.')[1] : version.split(/[.+-]/)[0]);
    if (!Number.isFinite(major)) continue;
    jdks.push({ home: real, version, major });
  }
  jdks.sort((a, b) => b.major - a.major || b.version.localeCompare(a.version, undefined, { numeric: true }));
  return jdks;
}

export async function newestJdk(minMajor) {
  const jdks = await findJdks();
  return jdks.find((j) => j.major >= minMajor) ?? null;
}

// ---------------------------------------------------------------- service user

export const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Elasticsearch refuses to run as root: as root we run it as a dedicated system user. */
export async function ensureServiceUser() {
  if (!isRoot()) return null;
  const id = await run('id', ['-u', SERVICE_USER]);
  if (id.code !== 0) {
    log(`creating system user ${SERVICE_USER}`);
    const r = await run('useradd', [
      '--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent',
      '--shell', '/usr/sbin/nologin', SERVICE_USER,
    ]);
    if (r.code !== 0 && !/already exists/.test(r.stderr)) {
      throw new ServiceError(`could not create system user ${SERVICE_USER}: ${r.stderr.trim()}`);
    }
  }
  const uid = Number((await run('id', ['-u', SERVICE_USER])).stdout.trim());
  const gid = Number((await run('id', ['-g', SERVICE_USER])).stdout.trim());
  return { name: SERVICE_USER, uid, gid };
}

export async function canServiceUserWrite(user, dir) {
  if (!user) return true;
  const r = await run('runuser', ['-u', user.name, '--', 'test', '-w', dir, '-a', '-x', dir]);
  return r.code === 0;
}

/**
 * Where a server that runs as the service user keeps its files: .services/ when the
 * service user can reach it, otherwise a per-checkout folder under /var/tmp (for checkouts
 * inside a directory the service user cannot traverse, e.g. /root/...).
 */
export async function runtimeBase(user) {
  if (!user) return SVC_DIR;
  const probe = path.join(SVC_DIR, 'run');
  await fsp.mkdir(probe, { recursive: true });
  await fsp.chown(probe, user.uid, user.gid);
  if (await canServiceUserWrite(user, probe)) return probe;
  const alt = path.join('/var/tmp', `movies-services-${sha256(ROOT).slice(0, 12)}`);
  await fsp.mkdir(alt, { recursive: true, mode: 0o755 });
  await fsp.chown(alt, user.uid, user.gid);
  return alt;
}

export async function chownR(p, user) {
  if (!user) return;
  const r = await run('chown', ['-R', `${user.uid}:${user.gid}`, p]);
  if (r.code !== 0) throw new ServiceError(`chown -R ${p} failed: ${r.stderr.trim()}`);
}

// ---------------------------------------------------------------- processes

/** Process start time (clock ticks since boot) from /proc, or null when the pid is gone. */
export function procStartTime(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return null;
  }
}

export function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

export function pidFile(name) {
  return path.join(SVC_DIR, `${name}.pid.json`);
}

/**
 * State of a process group we started: 'running' | 'stale' | 'none'.
 * The leader's start time guards against a recycled pid: a pid cannot be reused while a
 * process group with that id still exists, and a reused leader pid has another start time.
 */
export async function processState(name) {
  const rec = await readJson(pidFile(name));
  if (!rec || !Number.isInteger(rec.pid)) return { state: 'none', rec: null };
  const st = procStartTime(rec.pid);
  if (st !== null) return { state: st === rec.startTime ? 'running' : 'stale', rec };
  return { state: groupAlive(rec.pid) ? 'running' : 'stale', rec };
}

/**
 * Start a long-running server detached in its own process group (setsid), stdout/stderr
 * appended to logFile, and record pid + start time in .services/<name>.pid.json.
 */
export async function startDetached(name, cmd, args, { env, cwd, logFile, extra = {} }) {
  const fd = fs.openSync(logFile, 'a');
  const logOffset = fs.fstatSync(fd).size;
  fs.writeSync(fd, `\n==== ${new Date().toISOString()} starting: ${cmd} ${args.join(' ')}\n`);
  const child = spawn(cmd, args, { env, cwd: cwd ?? ROOT, detached: true, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const pid = await new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid));
    child.once('error', reject);
  });
  child.unref();
  const rec = { pid, startTime: procStartTime(pid), cmd: [cmd, ...args], logFile, logOffset, startedAt: new Date().toISOString(), ...extra };
  await writeFileAtomic(pidFile(name), JSON.stringify(rec, null, 2) + '\n');
  return rec;
}

/** SIGTERM the whole process group, wait, then SIGKILL. */
export async function stopGroup(pgid, label, graceMs = 30000) {
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch (err) {
    if (err.code === 'ESRCH') return 'gone';
    throw err;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return 'terminated';
    await sleep(250);
  }
  warn(`${label} did not stop within ${graceMs / 1000}s, sending SIGKILL`);
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  for (let i = 0; i < 40 && groupAlive(pgid); i++) await sleep(250);
  return 'killed';
}

/**
 * Java processes whose command line mentions one of `paths` (this checkout's .services
 * tree): a safety net for `down` when a pid file was lost. Maven itself is never matched.
 */
export async function findStrayJava(paths) {
  const out = [];
  let pids = [];
  try {
    pids = (await fsp.readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return out;
  }
  for (const pid of pids) {
    if (pid === process.pid) continue;
    let argv;
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    if (!argv.length || path.basename(argv[0]) !== 'java') continue;
    const line = argv.join(' ');
    if (line.includes('plexus.classworlds')) continue;
    if (paths.some((p) => line.includes(p))) out.push({ pid, line });
  }
  return out;
}

export async function killPid(pid, label, graceMs = 20000) {
  const st = procStartTime(pid);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && procStartTime(pid) === st && st !== null) await sleep(250);
  if (procStartTime(pid) === st && st !== null) {
    warn(`${label} (pid ${pid}) ignored SIGTERM, sending SIGKILL`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

// ---------------------------------------------------------------- network

export async function httpJson(url, { method = 'GET', body, timeoutMs = 5000 } = {}) {
  const res = await fetch(url, {
    method,
    headers: body ? { 'content-type': 'application/json' } : undefined,
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
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
  const net = await import('node:net');
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

/** Health of an Elasticsearch/OpenSearch node: {ok, version, status, distribution} or {ok:false, error}. */
export async function searchHealth(baseUrl) {
  try {
    const root = await httpJson(`${baseUrl}/`);
    const health = await httpJson(`${baseUrl}/_cluster/health`);
    if (health.status !== 200 || !health.json) return { ok: false, error: `_cluster/health -> HTTP ${health.status}` };
    const status = health.json.status;
    const version = root.json?.version?.number ?? null;
    return {
      ok: status === 'green' || status === 'yellow',
      status,
      version,
      distribution: root.json?.version?.distribution ?? null,
      product: root.headers.get('x-elastic-product'),
      error: status === 'red' ? 'cluster health is red' : undefined,
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

/** Runs `fn(slot)` holding a Maven slot, taken synchronously so that Maven runs keep their order. */
export async function withMavenSlot(fn) {
  const slot = mavenSlot();
  try {
    return await fn(slot);
  } finally {
    slot.release();
  }
}

/**
 * For a search server this checkout already started: waits until it is healthy and returns its
 * URL. Otherwise clears a stale pid file and returns undefined.
 */
export async function reuseRunning(name) {
  const { state, rec } = await processState(name);
  if (state === 'running') {
    const h = await searchHealth(rec.url);
    if (h.ok) {
      log(`${name} already running on :${rec.port} (pid ${rec.pid}, version ${h.version ?? rec.version})`);
      return rec.url;
    }
    log(`${name}: pid ${rec.pid} is running but not healthy yet; waiting`);
    await waitHealthy(name, () => searchHealth(rec.url), { pgid: rec.pid, logFile: rec.logFile, logOffset: rec.logOffset });
    log(`${name} ready on :${rec.port} (pid ${rec.pid})`);
    return rec.url;
  }
  if (state === 'stale') await fsp.rm(pidFile(name), { force: true });
  return undefined;
}

/**
 * For a healthy server of the right kind that something else started on `port` (typically
 * `services:up` in another checkout of this repository): returns its URL, so that this checkout
 * uses it instead of downloading and starting a second copy that could only fail with "port in
 * use". Nothing is recorded, so `down` here leaves it alone. Returns undefined when the port is
 * free; throws when the port is taken by something that does not become a healthy `kind` server.
 */
export async function reusePreexisting(name, port, { kind, wantedVersion }) {
  if (!(await portInUse(port))) return undefined;
  const url = `http://127.0.0.1:${port}`;
  // It may be another checkout's server still starting: give it a while before giving up.
  const deadline = Date.now() + Math.min(timeoutSeconds(), 60) * 1000;
  let h = await searchHealth(url);
  while (!h.ok && Date.now() < deadline && (await portInUse(port))) {
    await sleep(1000);
    h = await searchHealth(url);
  }
  const found = h.distribution === 'opensearch' ? 'opensearch' : 'elasticsearch';
  const envName = kind === 'opensearch' ? 'OS_PORT' : 'ES_PORT';
  if (!h.ok) {
    throw new ServiceError(`${name}: port ${port} is in use by something services:up did not start, and it is not a healthy search server (${h.error ?? h.status}); stop it, or set ${envName}`);
  }
  if (found !== kind) {
    throw new ServiceError(`${name}: port ${port} is in use by a healthy ${found} ${h.version ?? ''} server, not ${kind}; stop it, or set ${envName}`);
  }
  const wantedMajor = String(wantedVersion).split('.')[0];
  if (h.version && h.version.split('.')[0] !== wantedMajor) {
    warn(`${name}: the server on :${port} is version ${h.version}, not ${wantedVersion}; using it anyway`);
  }
  log(`${name}: reusing the healthy ${kind} ${h.version ?? ''} already on :${port} (not started by this checkout; down leaves it alone)`);
  return url;
}

/** Stops the process group recorded for `name` and removes its pid file; returns the record. */
export async function stopRecorded(name, graceMs) {
  const { state, rec } = await processState(name);
  if (state === 'running') {
    log(`${name}: stopping pid ${rec.pid} (port ${rec.port})`);
    log(`${name}: ${await stopGroup(rec.pid, name, graceMs)}`);
  } else {
    log(`${name}: nothing this checkout started is running${state === 'stale' ? ' (stale pid file removed)' : ''}; a server others started is left alone`);
  }
  await fsp.rm(pidFile(name), { force: true });
  return rec;
}

/** Kills leftover java processes of this checkout whose command line contains `marker`. */
export async function killStrayJava(name, paths, marker) {
  for (const p of await findStrayJava(paths)) {
    if (!p.line.includes(marker)) continue;
    warn(`${name}: stopping stray process ${p.pid}`);
    await killPid(p.pid, name);
  }
}

/** One status line for a search server. */
export async function searchStatus(name, url, portEnv, defaultPort) {
  const { state, rec: found } = await processState(name);
  const rec = state === 'running' ? found : null;
  url = url || rec?.url || `http://127.0.0.1:${envPort(portEnv, defaultPort)}`;
  const h = await searchHealth(url);
  const label = name.padEnd(13);
  if (h.ok) return { ok: true, line: `${label}  ${url}  ${h.version ?? '?'}  ${h.status}${rec ? ` (pid ${rec.pid})` : ' (not started by this checkout)'}` };
  return { ok: false, line: `${label}  ${url}  DOWN (${h.error ?? h.status})` };
}

/** The variables in .services/env ({} when it does not exist yet). */
export async function readEnvFile() {
  let text = '';
  try {
    text = await fsp.readFile(ENV_FILE, 'utf8');
  } catch {
    return {};
  }
  return parseEnvFile(text);
}
