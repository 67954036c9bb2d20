// PostgreSQL: reuse what the machine has; never stop a server this script did not start.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOG_DIR, SVC_DIR, timeoutSeconds } from './config.mjs';
import { readJson, writeFileAtomic } from './files.mjs';
import { ServiceError, log, warn } from './log.mjs';
import { ensureDatabase, pgStatus, psql, reachable, redact } from './psql.mjs';
import { run } from './run.mjs';

const STATE = path.join(SVC_DIR, 'postgres.json');
const DB_NAME = process.env.SERVICES_PG_DATABASE || 'movies';
const HOST = '127.0.0.1';
const PORT = Number(process.env.SERVICES_PG_PORT || 5432);
const LOCAL_URL = `postgres://postgres@${HOST}:${PORT}/${DB_NAME}`;
const LOG_FILE = path.join(LOG_DIR, 'postgres.log');

/** pg_isready: 0 accepting, 1 rejecting (starting up), 2 no response, 3 bad params. */
async function isReady() {
  const r = await run('pg_isready', ['-q', '-h', HOST, '-p', String(PORT), '-t', '5']);
  return r.code;
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

export async function up() {
  const prev = (await readJson(STATE)) ?? {};

  const envUrl = process.env.DATABASE_URL;
  if (envUrl && envUrl !== LOCAL_URL) {
    if (await reachable(envUrl)) {
      log(`postgresql: using DATABASE_URL from the environment (${redact(envUrl)})`);
      await writeFileAtomic(STATE, JSON.stringify({ url: envUrl, source: 'env' }, null, 2) + '\n');
      return { url: envUrl };
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
  await ensureDatabase(admin, DB_NAME, 'postgresql');
  await writeFileAtomic(STATE, JSON.stringify({ url: LOCAL_URL, source: 'local', startedCluster }, null, 2) + '\n');
  log(`postgresql: ready at ${LOCAL_URL}`);
  return { url: LOCAL_URL };
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
  return pgStatus('postgresql', url || (await readJson(STATE))?.url || process.env.DATABASE_URL || LOCAL_URL);
}
