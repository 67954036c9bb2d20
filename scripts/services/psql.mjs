// Talking to a PostgreSQL server with the machine's psql: reachability, the project database,
// and one status line. Shared by the machine's server (postgres.mjs) and a PostgreSQL from npm
// (postgres-npm.mjs).
import { ServiceError, log } from './log.mjs';
import { run } from './run.mjs';

export function psql(url, sql) {
  return run('psql', [url, '-w', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    env: { ...process.env, PGCONNECT_TIMEOUT: '5' },
    timeoutMs: 20000,
  });
}

export async function reachable(url) {
  const r = await psql(url, 'select 1');
  if (r.code === 127) throw new ServiceError('`psql` (PostgreSQL client) is not installed');
  return r.code === 0;
}

export function redact(url) {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** Creates database `name` on the server of `adminUrl` unless it exists. */
export async function ensureDatabase(adminUrl, name, label) {
  const found = await psql(adminUrl, `select 1 from pg_database where datname = '${name}'`);
  if (found.code !== 0) throw new ServiceError(`${label}: cannot query ${redact(adminUrl)}: ${found.stderr.trim()}`);
  if (found.stdout.trim() === '1') return;
  const created = await psql(adminUrl, `create database "${name}"`);
  if (created.code !== 0 && !/already exists/.test(created.stderr)) {
    throw new ServiceError(`${label}: could not create database ${name}: ${created.stderr.trim()}`);
  }
  log(`${label}: created database ${name}`);
}

/** One status line for the server at `url`. */
export async function pgStatus(label, url) {
  const r = await psql(url, 'select version()');
  if (r.code === 0) {
    const version = r.stdout.trim().split(' ').slice(0, 2).join(' ');
    return { ok: true, line: `${label.padEnd(13)}  ${redact(url)}  ${version}  healthy` };
  }
  return { ok: false, line: `${label.padEnd(13)}  ${redact(url)}  DOWN (${(r.stderr.trim().split('\n')[0] || 'no answer')})` };
}
