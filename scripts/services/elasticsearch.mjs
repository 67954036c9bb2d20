// Elasticsearch: the integ-test-zip distribution from Maven Central, run on the newest JDK >= 21.
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  CACHE_DIR, LOG_DIR, ROOT, SVC_DIR, ServiceError, chownR, ensureServiceUser, envPort, exists, findStrayJava,
  killPid, log, mavenSlot, mvn, newestJdk, portInUse, processState, rel, run, runtimeBase, searchHealth,
  sha256, startDetached, stopGroup, waitHealthy, warn, findJdks, pidFile,
  withMavenSlot, reuseRunning, reusePreexisting, stopRecorded, killStrayJava, searchStatus,
} from './common.mjs';

const NAME = 'elasticsearch';
// Newest 9.x integ-test-zip on Maven Central (9.5.5 and 9.5.6 are not published there).
const DEFAULT_VERSION = '9.5.4';
// Used automatically only when no JDK >= 21 exists (8.19 runs on Java 17).
const FALLBACK_VERSION = '8.19.21';
const POM = path.join(ROOT, 'services', 'elasticsearch', 'pom.xml');
const PLUGIN_SRC = path.join(ROOT, 'services', 'elasticsearch', 'root-info-plugin', 'src');
const LOG_FILE = path.join(LOG_DIR, 'elasticsearch.log');
const MVN_LOG = path.join(LOG_DIR, 'maven-elasticsearch.log');
const CLUSTER = 'movies-elasticsearch';

async function chooseVersionAndJdk() {
  const wanted = process.env.ES_VERSION || DEFAULT_VERSION;
  const minJava = Number(wanted.split('.')[0]) >= 9 ? 21 : 17;
  let jdk = await newestJdk(minJava);
  if (jdk) return { version: wanted, jdk };
  if (!process.env.ES_VERSION) {
    jdk = await newestJdk(17);
    if (jdk) {
      warn(`no JDK >= 21 found under /usr/lib/jvm (have: ${(await findJdks()).map((j) => j.version).join(', ') || 'none'}); falling back to Elasticsearch ${FALLBACK_VERSION} on Java ${jdk.version}`);
      return { version: FALLBACK_VERSION, jdk };
    }
  }
  throw new ServiceError(`elasticsearch ${wanted} needs a JDK >= ${minJava}; none found under /usr/lib/jvm (set SERVICES_JAVA_HOME)`);
}

async function fetchZip(version, slot) {
  const zip = path.join(CACHE_DIR, `elasticsearch-${version}.zip`);
  if (await exists(zip)) return zip;
  await slot.run(async () => {
    if (await exists(zip)) return;
    log(`elasticsearch: fetching ${version} via Maven (log: ${rel(MVN_LOG)})`);
    const tmpDir = path.join(CACHE_DIR, `.es-${process.pid}`);
    const ok = await mvn(['-f', POM, `-Delasticsearch.version=${version}`, 'dependency:copy-dependencies',
      `-DoutputDirectory=${tmpDir}`, '-DincludeTypes=zip'], MVN_LOG);
    const got = path.join(tmpDir, `elasticsearch-${version}.zip`);
    if (!ok || !(await exists(got))) {
      await fsp.rm(tmpDir, { recursive: true, force: true });
      throw new ServiceError(`elasticsearch: Maven could not fetch org.elasticsearch.distribution.integ-test-zip:elasticsearch:${version}:zip (see ${rel(MVN_LOG)})`, MVN_LOG);
    }
    await fsp.rename(got, zip);
    await fsp.rm(tmpDir, { recursive: true, force: true });
  });
  return zip;
}

async function unzip(zip, dest) {
  const r = await run('unzip', ['-q', '-o', zip, '-d', dest]);
  if (r.code === 0) return;
  if (r.code !== 127) throw new ServiceError(`unzip ${zip} failed: ${r.stderr.trim()}`);
  // No unzip(1): python3's zipfile, keeping the unix permission bits.
  const py = 'import sys,zipfile,os\nz=zipfile.ZipFile(sys.argv[1])\nfor i in z.infolist():\n  p=z.extract(i,sys.argv[2])\n  m=(i.external_attr>>16)&0o777\n  if m: os.chmod(p,m)\n';
  const r2 = await run('python3', ['-c', py, zip, dest]);
  if (r2.code !== 0) throw new ServiceError(`cannot unpack ${zip}: neither unzip nor python3 worked (${r2.stderr.trim()})`);
}

async function unpack(zip, version, base, user) {
  const home = path.join(base, `elasticsearch-${version}`);
  const marker = path.join(home, '.movies-unpacked');
  if (await exists(marker)) return home;
  log(`elasticsearch: unpacking ${rel(zip)} to ${rel(home)}`);
  const tmp = path.join(base, `.unpack-es-${process.pid}`);
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.mkdir(tmp, { recursive: true });
  await unzip(zip, tmp);
  await fsp.rm(home, { recursive: true, force: true });
  await fsp.rename(path.join(tmp, `elasticsearch-${version}`), home);
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.writeFile(marker, `${version}\n`);
  await chownR(home, user);
  return home;
}

/**
 * The integ-test-zip lacks the module that serves GET / (node + version info). Build our own
 * tiny plugin against the unpacked distribution and install it under plugins/.
 */
async function installRootInfoPlugin(home, version, jdk, user) {
  const srcFile = path.join(PLUGIN_SRC, 'movies', 'services', 'es', 'RootInfoPlugin.java');
  const src = await fsp.readFile(srcFile, 'utf8');
  const stamp = sha256(`${src}\n${version}\n${jdk.version}`);
  const pluginDir = path.join(home, 'plugins', 'movies-root-info');
  const stampFile = path.join(pluginDir, '.stamp');
  try {
    if ((await fsp.readFile(stampFile, 'utf8')).trim() === stamp) return true;
  } catch {
    /* build it */
  }
  const buildDir = path.join(CACHE_DIR, `es-root-info-${version}`);
  await fsp.rm(buildDir, { recursive: true, force: true });
  await fsp.mkdir(path.join(buildDir, 'classes'), { recursive: true });
  // 8.x (the Java 17 fallback) has the older ActionPlugin.getRestHandlers parameter list.
  const source = Number(version.split('.')[0]) >= 9 ? src : src.replace(
    'final RestHandlersServices services,',
    'final org.elasticsearch.common.settings.Settings settings, final org.elasticsearch.common.io.stream.NamedWriteableRegistry registry, final org.elasticsearch.rest.RestController controller, final org.elasticsearch.common.settings.ClusterSettings clusterSettings, final org.elasticsearch.common.settings.IndexScopedSettings indexScopedSettings, final org.elasticsearch.common.settings.SettingsFilter settingsFilter, final org.elasticsearch.cluster.metadata.IndexNameExpressionResolver resolver,',
  );
  const buildSrc = path.join(buildDir, 'src', 'RootInfoPlugin.java');
  await fsp.mkdir(path.dirname(buildSrc), { recursive: true });
  await fsp.writeFile(buildSrc, source);
  const javac = await run(path.join(jdk.home, 'bin', 'javac'), [
    '--release', String(Math.min(jdk.major, 21)), '-nowarn', '-cp', path.join(home, 'lib', '*'),
    '-d', path.join(buildDir, 'classes'), buildSrc,
  ]);
  if (javac.code !== 0) {
    warn(`elasticsearch: could not build the GET / plugin for ${version} (GET / will answer 405):\n${javac.stderr.trim().split('\n').slice(0, 10).join('\n')}`);
    await fsp.rm(pluginDir, { recursive: true, force: true });
    return false;
  }
  await fsp.rm(pluginDir, { recursive: true, force: true });
  await fsp.mkdir(pluginDir, { recursive: true });
  const jar = await run(path.join(jdk.home, 'bin', 'jar'), ['cf', path.join(pluginDir, 'movies-root-info.jar'), '-C', path.join(buildDir, 'classes'), '.']);
  if (jar.code !== 0) throw new ServiceError(`elasticsearch: jar failed: ${jar.stderr.trim()}`);
  await fsp.writeFile(path.join(pluginDir, 'plugin-descriptor.properties'), [
    'description=Serves GET / and HEAD / (node and version info), missing from the integ-test distribution',
    `version=${version}`,
    'name=movies-root-info',
    'classname=movies.services.es.RootInfoPlugin',
    `java.version=${Number(version.split('.')[0]) >= 9 ? 21 : 17}`,
    `elasticsearch.version=${version}`,
    '',
  ].join('\n'));
  await fsp.writeFile(stampFile, `${stamp}\n`);
  await chownR(pluginDir, user);
  return true;
}

async function configure(home, version, base, port, user) {
  const data = path.join(base, 'data', `elasticsearch-${version}`);
  const logs = path.join(base, 'logs', 'elasticsearch');
  for (const d of [data, logs]) {
    await fsp.mkdir(d, { recursive: true });
    await chownR(d, user);
  }
  const yml = [
    '# Written by scripts/services.mjs on every `services:up`; edits are overwritten.',
    `cluster.name: ${CLUSTER}`,
    `node.name: ${CLUSTER}`,
    'discovery.type: single-node',
    'network.host: 127.0.0.1',
    'http.host: 127.0.0.1',
    `http.port: ${port}`,
    'transport.port: 9300-9399',
    `path.data: ${data}`,
    `path.logs: ${logs}`,
    'xpack.security.enabled: false',
    'cluster.routing.allocation.disk.threshold_enabled: false',
    '',
  ].join('\n');
  await fsp.writeFile(path.join(home, 'config', 'elasticsearch.yml'), yml);
  await fsp.mkdir(path.join(home, 'config', 'jvm.options.d'), { recursive: true });
  await fsp.writeFile(path.join(home, 'config', 'jvm.options.d', 'movies.options'), '-Xms512m\n-Xmx512m\n');
  await chownR(path.join(home, 'config'), user);
  return { data, logs };
}

export async function up() {
  return withMavenSlot(upInner);
}

async function upInner(slot) {
  const port = envPort('ES_PORT', 9200);
  const url = `http://127.0.0.1:${port}`;
  const running = await reuseRunning(NAME);
  if (running) return { ELASTICSEARCH_URL: running };
  const preexisting = await reusePreexisting(NAME, port, { kind: NAME, wantedVersion: process.env.ES_VERSION || DEFAULT_VERSION });
  if (preexisting) return { ELASTICSEARCH_URL: preexisting };

  const { version, jdk } = await chooseVersionAndJdk();
  const user = await ensureServiceUser();
  const zip = await fetchZip(version, slot);
  slot.release();
  const base = await runtimeBase(user);
  const home = await unpack(zip, version, base, user);
  const hasRoot = await installRootInfoPlugin(home, version, jdk, user);
  await configure(home, version, base, port, user);

  if (await portInUse(port)) {
    throw new ServiceError(`elasticsearch: port ${port} is already in use by a process services:up did not start (stop it, or set ES_PORT)`, LOG_FILE);
  }

  const env = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: process.env.LANG || 'C.UTF-8',
    ES_JAVA_HOME: jdk.home,
    ES_PATH_CONF: path.join(home, 'config'),
    ES_JAVA_OPTS: '',
  };
  const bin = path.join(home, 'bin', 'elasticsearch');
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const [cmd, args] = user
    ? ['runuser', ['-u', user.name, '--', '/usr/bin/env', '-i', ...envArgs, bin]]
    : ['/usr/bin/env', ['-i', ...envArgs, bin]];
  log(`elasticsearch: starting ${version} on :${port} with Java ${jdk.version} (${jdk.home})${user ? ` as ${user.name}` : ''} (log: ${rel(LOG_FILE)})`);
  const started = await startDetached(NAME, cmd, args, {
    cwd: home,
    env: process.env,
    logFile: LOG_FILE,
    extra: { url, port, version, home, base, java: jdk.home, user: user?.name ?? null },
  });
  const h = await waitHealthy('elasticsearch', () => searchHealth(url), { pgid: started.pid, logFile: LOG_FILE, logOffset: started.logOffset });
  if (hasRoot && !h.version) warn('elasticsearch: GET / returned no version');
  log(`elasticsearch ${h.version ?? version} ready on :${port} (pid ${started.pid}, health ${h.status})`);
  return { ELASTICSEARCH_URL: url };
}

export async function down() {
  const rec = await stopRecorded(NAME, 60000);
  const paths = [SVC_DIR + '/'];
  if (rec?.base) paths.push(rec.base + '/');
  await killStrayJava(NAME, paths, 'org.elasticsearch');
  // A per-checkout folder outside the checkout (see runtimeBase) is not a cache: remove it.
  if (rec?.base && rec.base.startsWith('/var/tmp/movies-services-')) {
    log(`elasticsearch: removing ${rec.base}`);
    await fsp.rm(rec.base, { recursive: true, force: true });
  }
}

export async function status(url) {
  return searchStatus(NAME, url, 'ES_PORT', 9200);
}
