// PostgreSQL: reuse what the machine has; never stop a server this script did not start.
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  LOG_DIR, SVC_DIR, ServiceError, log, readJson, run, sleep, timeoutSeconds, warn, writeFileAtomic,
} from './common.mjs';

const STATE = path.join(SVC_DIR, 'postgres.json');
const DB_NAME = process.env.SERVICES_PG_DATABASE || 'movies';
const HOST = '127.0.0.1';
const PORT = Number(process.env.SERVICES_PG_PORT || 5432);
const LOCAL_URL = `postgres://postgres@${HOST}:${PORT}/${DB_NAME}`;
const LOG_FILE = path.join(LOG_DIR, 'postgres.log');

function psql(url, sql) {
  return run('psql', [url, '-w', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    env: { ...process.env, PGCONNECT_TIMEOUT: '5' },
    timeoutMs: 20000,
  });
}

async function reachable(url) {
  const r = await psql(url, 'select 1');
  if (r.code === 127) throw new ServiceError('`psql` (PostgreSQL client) is not installed');
  return r.code === 0;
}

/** pg_isready: 0 accepting, 1 rejecting (starting up), 2 no response, 3 bad params. */
async function isReady() {
  const r = await run('pg_isready', ['-q', '-h', HOST, '-p', String(PORT), '-t', '5']);
  return r.code;
}

function redact(url) {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** The machine's clusters as [{version, name, port, status}] from pg_lsclusters. */
async function listClusters() {
  const r = await run('pg_lsclusters', ['--no-header']);
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 4)
    .map(([version, name, port, status]) => ({ version, name, port: Number(port), status }));
}

async function ensureDatabase() {
  const admin = `postgres://postgres@${HOST}:${PORT}/postgres`;
  const exists = await psql(admin, `select 1 from pg_database where datname = '${DB_NAME}'`);
  if (exists.code !== 0) throw new ServiceError(`postgresql: cannot query ${HOST}:${PORT}: ${exists.stderr.trim()}`);
  if (exists.stdout.trim() !== '1') {
    const created = await psql(admin, `create database "${DB_NAME}"`);
    if (created.code !== 0 && !/already exists/.test(created.stderr)) {
      throw new ServiceError(`postgresql: could not create database ${DB_NAME}: ${created.stderr.trim()}`);
    }
    log(`postgresql: created database ${DB_NAME}`);
  }
}

export async function up() {
  const prev = (await readJson(STATE)) ?? {};

  const envUrl = process.env.DATABASE_URL;
  if (envUrl && envUrl !== LOCAL_URL) {
    if (await reachable(envUrl)) {
      log(`postgresql: using DATABASE_URL from the environment (${redact(envUrl)})`);
      await writeFileAtomic(STATE, JSON.stringify({ url: envUrl, source: 'env' }, null, 2) + '\n');
      return { DATABASE_URL: envUrl };
    }
    warn(`DATABASE_URL is set but not reachable (${redact(envUrl)}); falling back to ${HOST}:${PORT}`);
  }

  let startedCluster = prev.startedCluster ?? null;
  const admin = `postgres://postgres@${HOST}:${PORT}/postgres`;
  if (await reachable(admin)) {
    log(`postgresql: server on ${HOST}:${PORT} is ${startedCluster ? `running (started earlier by services:up: ${startedCluster.version}/${startedCluster.name})` : 'running (pre-existing, left alone by down)'}`);
  } else if ((await isReady()) === 0) {
    const r = await psql(admin, 'select 1');
    throw new ServiceError(`postgresql: a server accepts connections on ${HOST}:${PORT} but psql as user postgres fails: ${r.stderr.trim()}`, LOG_FILE);
  } else {
    startedCluster = null;
    const clusters = (await listClusters()).filter((c) => c.port === PORT);
    if (!clusters.length) {
      throw new ServiceError(`postgresql: nothing answers on ${HOST}:${PORT} and no local cluster (pg_lsclusters) uses that port`, LOG_FILE);
    }
    const c = clusters[0];
    log(`postgresql: starting local cluster ${c.version}/${c.name} with pg_ctlcluster`);
    const r = await run('pg_ctlcluster', ['--skip-systemctl-redirect', c.version, c.name, 'start'], { logFile: LOG_FILE });
    if (r.code !== 0) {
      throw new ServiceError(`postgresql: pg_ctlcluster ${c.version} ${c.name} start failed (see ${LOG_FILE} and /var/log/postgresql/)`, LOG_FILE);
    }
    startedCluster = { version: c.version, name: c.name };
    // Record it now so that `down` stops it even if the checks below fail.
    await writeFileAtomic(STATE, JSON.stringify({ url: LOCAL_URL, source: 'local', startedCluster }, null, 2) + '\n');
    const deadline = Date.now() + timeoutSeconds() * 1000;
    while (!(await reachable(admin))) {
      if ((await isReady()) === 0) {
        const r = await psql(admin, 'select 1');
        if (r.code !== 0) throw new ServiceError(`postgresql: cluster ${c.version}/${c.name} is up but psql as user postgres fails: ${r.stderr.trim()}`, LOG_FILE);
        break;
      }
      if (Date.now() > deadline) {
        throw new ServiceError(`postgresql: cluster ${c.version}/${c.name} started but ${HOST}:${PORT} is not reachable after ${timeoutSeconds()}s (log: /var/log/postgresql/postgresql-${c.version}-${c.name}.log)`, LOG_FILE);
      }
      await sleep(500);
    }
    log(`postgresql: cluster ${c.version}/${c.name} is up`);
  }
  await ensureDatabase();
  await writeFileAtomic(STATE, JSON.stringify({ url: LOCAL_URL, source: 'local', startedCluster }, null, 2) + '\n');
  log(`postgresql: ready at ${LOCAL_URL}`);
  return { DATABASE_URL: LOCAL_URL };
}

export async function down() {
  const state = await readJson(STATE);
  if (state?.startedCluster) {
    const { version, name } = state.startedCluster;
    log(`postgresql: stopping cluster ${version}/${name} (it was started by services:up)`);
    const r = await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'stop'], { logFile: LOG_FILE });
    if (r.code !== 0) warn(`pg_ctlcluster ${version} ${name} stop failed (see ${LOG_FILE})`);
  } else if (state) {
    log('postgresql: leaving the pre-existing server running');
  }
  await fsp.rm(STATE, { force: true });
}

export async function status(url) {
  url = url || (await readJson(STATE))?.url || process.env.DATABASE_URL || LOCAL_URL;
  const r = await psql(url, 'select version()');
  if (r.code === 0) {
    const version = r.stdout.trim().split(' ').slice(0, 2).join(' ');
    return { ok: true, line: `postgresql     ${redact(url)}  ${version}  healthy` };
  }
  return { ok: false, line: `postgresql     ${redact(url)}  DOWN (${(r.stderr.trim().split('\n')[0] || 'no answer')})` };
}
