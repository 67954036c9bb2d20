// Servers that refuse root (Elasticsearch, PostgreSQL) run as a dedicated system user.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ROOT, SVC_DIR } from './config.mjs';
import { sha256 } from './files.mjs';
import { ServiceError, log } from './log.mjs';
import { run } from './run.mjs';

const SERVICE_USER = 'movies-svc';

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** As root: the service user, created on first use. Otherwise null (run as the invoking user). */
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

async function canServiceUserWrite(user, dir) {
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

/** True for a runtimeBase outside the checkout, which `down` removes (it is not a cache). */
export function isOutsideBase(base) {
  return typeof base === 'string' && base.startsWith('/var/tmp/movies-services-');
}

export async function chownR(p, user) {
  if (!user) return;
  const r = await run('chown', ['-R', `${user.uid}:${user.gid}`, p]);
  if (r.code !== 0) throw new ServiceError(`chown -R ${p} failed: ${r.stderr.trim()}`);
}

/** The command line that runs `bin` with exactly `env`, as the service user when there is one. */
export function asServiceUser(user, env, bin, args = []) {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return user
    ? ['runuser', ['-u', user.name, '--', '/usr/bin/env', '-i', ...envArgs, bin, ...args]]
    : ['/usr/bin/env', ['-i', ...envArgs, bin, ...args]];
}
