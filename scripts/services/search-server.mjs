// A search server fetched from Maven Central and run on this machine: the steps Elasticsearch
// and OpenSearch share (reuse, version and JDK choice, start, health, stop, status). Each
// engine fills in only how to fetch, install and launch itself (elasticsearch.mjs, opensearch.mjs).
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOG_DIR, SVC_DIR, timeoutSeconds } from './config.mjs';
import { portInUse, searchHealth, waitHealthy } from './health.mjs';
import { chooseVersionAndJdk } from './jdk.mjs';
import { ServiceError, log, rel, warn } from './log.mjs';
import { withMavenSlot } from './maven.mjs';
import { forgetStale, killStray, processState, runningRecord, startDetached, stopRecorded } from './processes.mjs';

/**
 * @param spec.kind       'elasticsearch' | 'opensearch'
 * @param spec.name       instance name: .services/<name>.pid.json and .services/logs/<name>.log
 * @param spec.port       HTTP port; spec.portEnv names the variable that moves it (for messages)
 * @param spec.version    { wanted, explicit, fallback, minJava(version) } for chooseVersionAndJdk
 * @param spec.minNodes   healthy only once this many nodes joined (cluster nodes)
 * @param spec.prepare    ({ version, jdk, slot, logFile }) => { cmd, args, env, cwd, extra }:
 *                        fetch (holding the Maven slot), install and configure
 * @param spec.strayMarker text in the command line of a leftover process of this kind
 * @param spec.afterDown  (rec) => cleanup once stopped
 */
export function searchServer(spec) {
  const { kind, name, port } = spec;
  const url = `http://127.0.0.1:${port}`;
  const logFile = path.join(LOG_DIR, `${name}.log`);
  const check = () => searchHealth(url, { minNodes: spec.minNodes ?? 1 });

  async function up() {
    return withMavenSlot(async (slot) => {
      if (await reuseRunning()) return { url };
      if (await reusePreexisting()) return { url };
      const { version, jdk } = await chooseVersionAndJdk({ label: kind, ...spec.version });
      const launch = await spec.prepare({ version, jdk, slot, logFile });
      slot.release();
      if (await portInUse(port)) {
        throw new ServiceError(`${name}: port ${port} is already in use by a process services:up did not start (stop it, or set ${spec.portEnv})`, logFile);
      }
      log(`${name}: starting ${kind} ${version} on :${port} with Java ${jdk.version} (${jdk.home}) (log: ${rel(logFile)})`);
      const started = await startDetached(name, launch.cmd, launch.args, {
        env: launch.env,
        cwd: launch.cwd,
        logFile,
        extra: { url, port, version, java: jdk.home, ...launch.extra },
      });
      const h = await waitHealthy(name, check, { pgid: started.pid, logFile, logOffset: started.logOffset });
      log(`${name}: ${kind} ${h.version ?? version} ready on :${port} (pid ${started.pid}, health ${h.status})`);
      return { url };
    });
  }

  /** True when this checkout already runs the server (waiting for it to be healthy). */
  async function reuseRunning() {
    const { state, rec } = await processState(name);
    if (state === 'stale') await forgetStale(name);
    if (state !== 'running') return false;
    const h = await check();
    if (!h.ok) {
      log(`${name}: pid ${rec.pid} is running but not healthy yet; waiting`);
      await waitHealthy(name, check, { pgid: rec.pid, logFile: rec.logFile, logOffset: rec.logOffset });
    }
    log(`${name}: already running on :${port} (pid ${rec.pid}, version ${h.version ?? rec.version})`);
    return true;
  }

  /**
   * True for a healthy server of the right kind that something else started on the port
   * (typically `services:up` in another checkout): this checkout uses it instead of starting a
   * second copy that could only fail with "port in use". Nothing is recorded, so `down` here
   * leaves it alone. Throws when the port is taken by something that does not become a
   * healthy server of this kind.
   */
  async function reusePreexisting() {
    if (!(await portInUse(port))) return false;
    // It may be another checkout's server still starting: give it a while before giving up.
    const deadline = Date.now() + Math.min(timeoutSeconds(), 60) * 1000;
    let h = await check();
    while (!h.ok && Date.now() < deadline && (await portInUse(port))) {
      await sleep(1000);
      h = await check();
    }
    const found = h.distribution === 'opensearch' ? 'opensearch' : 'elasticsearch';
    if (!h.ok) {
      throw new ServiceError(`${name}: port ${port} is in use by something services:up did not start, and it is not a healthy search server (${h.error ?? h.status}); stop it, or set ${spec.portEnv}`);
    }
    if (found !== kind) {
      throw new ServiceError(`${name}: port ${port} is in use by a healthy ${found} ${h.version ?? ''} server, not ${kind}; stop it, or set ${spec.portEnv}`);
    }
    const wantedMajor = String(spec.version.wanted).split('.')[0];
    if (h.version && h.version.split('.')[0] !== wantedMajor) {
      warn(`${name}: the server on :${port} is version ${h.version}, not ${spec.version.wanted}; using it anyway`);
    }
    log(`${name}: reusing the healthy ${kind} ${h.version ?? ''} already on :${port} (not started by this checkout; down leaves it alone)`);
    return true;
  }

  async function down() {
    const rec = await stopRecorded(name, spec.graceMs ?? 45000);
    const paths = [SVC_DIR + '/'];
    if (rec?.base) paths.push(rec.base + '/');
    await killStray(name, paths, spec.strayMarker);
    if (rec && spec.afterDown) await spec.afterDown(rec);
  }

  /** One status line. */
  async function status(knownUrl) {
    const rec = await runningRecord(name);
    const where = knownUrl || rec?.url || url;
    const h = await searchHealth(where);
    const label = name.padEnd(13);
    if (h.ok) return { ok: true, line: `${label}  ${where}  ${h.version ?? '?'}  ${h.status}${rec ? ` (pid ${rec.pid})` : ' (not started by this checkout)'}` };
    return { ok: false, line: `${label}  ${where}  DOWN (${h.error ?? h.status})` };
  }

  return { name, kind, url, up, down, status, running: () => runningRecord(name) };
}
