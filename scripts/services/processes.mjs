// Long-running servers: started detached in their own process group, recorded in a pid file,
// stopped by group; and a safety net for processes whose pid file was lost.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, SVC_DIR } from './config.mjs';
import { readJson, writeFileAtomic } from './files.mjs';
import { log, warn } from './log.mjs';

/** The fields of /proc/<pid>/stat after the command name, or null when the pid is gone. */
function procStat(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Process start time (clock ticks since boot), or null when the pid is gone. */
function procStartTime(pid) {
  return procStat(pid)?.[19] ?? null;
}

export function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function pidFile(name) {
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

/** The pid file's record of `name` while its process runs, else null. */
export async function runningRecord(name) {
  const { state, rec } = await processState(name);
  return state === 'running' ? rec : null;
}

/** Removes the pid file of a process that is no longer running. */
export async function forgetStale(name) {
  await fsp.rm(pidFile(name), { force: true });
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
async function stopGroup(pgid, label, graceMs) {
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

/** Stops the process group recorded for `name` and removes its pid file; returns the record. */
export async function stopRecorded(name, graceMs) {
  const { state, rec } = await processState(name);
  if (state === 'running') {
    log(`${name}: stopping pid ${rec.pid}${rec.port ? ` (port ${rec.port})` : ''}`);
    log(`${name}: ${await stopGroup(rec.pid, name, graceMs)}`);
  } else {
    log(`${name}: nothing this checkout started is running${state === 'stale' ? ' (stale pid file removed)' : ''}; a server others started is left alone`);
  }
  await forgetStale(name);
  return rec;
}

/** Process groups that a pid file of this checkout records as running (other instances). */
function recordedGroups() {
  const groups = new Set();
  let names = [];
  try {
    names = fs.readdirSync(SVC_DIR).filter((f) => f.endsWith('.pid.json'));
  } catch {
    return groups;
  }
  for (const f of names) {
    try {
      const rec = JSON.parse(fs.readFileSync(path.join(SVC_DIR, f), 'utf8'));
      if (Number.isInteger(rec.pid) && procStartTime(rec.pid) === rec.startTime) groups.add(String(rec.pid));
    } catch {
      /* unreadable: not a running record */
    }
  }
  return groups;
}

/**
 * Processes whose command line mentions one of `paths` (this checkout's .services tree) and
 * `marker`, outside every process group another pid file records: a safety net for `down` when
 * a pid file was lost, which leaves the other instances (e.g. compatibility servers) running.
 * Maven itself is never matched.
 */
function findStray(paths, marker, others = recordedGroups()) {
  const out = [];
  let pids = [];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return out;
  }
  for (const pid of pids) {
    if (pid === process.pid) continue;
    let line;
    try {
      line = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      continue;
    }
    if (!line || line.includes('plexus.classworlds') || !line.includes(marker)) continue;
    if (others.has(procStat(pid)?.[2])) continue;
    if (paths.some((p) => line.includes(p))) out.push({ pid, line });
  }
  return out;
}

async function killPid(pid, label, graceMs = 20000) {
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

/** True while some process's command line mentions `dir` (another server still uses it). */
export function inUse(dir) {
  return findStray([dir], dir, new Set()).length > 0;
}

/** Kills leftover processes of this checkout whose command line contains `marker`. */
export async function killStray(name, paths, marker) {
  for (const p of findStray(paths, marker)) {
    warn(`${name}: stopping stray process ${p.pid}`);
    await killPid(p.pid, name);
  }
}
