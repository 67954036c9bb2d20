// Elasticsearch: the integ-test-zip distribution from Maven Central (9.x on Java >= 21, 8.19 on
// Java 17), unpacked once per version and run as the service user with a config of its own per
// instance, so that a compatibility server can run beside the everyday one.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CACHE_DIR, LOG_DIR, ROOT } from './config.mjs';
import { exists, removeDir, sha256, unzip } from './files.mjs';
import { ServiceError, log, rel, warn } from './log.mjs';
import { mvn } from './maven.mjs';
import { inUse } from './processes.mjs';
import { run } from './run.mjs';
import { searchServer } from './search-server.mjs';
import { asServiceUser, chownR, ensureServiceUser, isOutsideBase, runtimeBase } from './service-user.mjs';

// Newest 9.x integ-test-zip on Maven Central (9.5.5 and 9.5.6 are not published there).
const ES_DEFAULT_VERSION = '9.5.4';
// The newest 8.x; runs on Java 17, and is used automatically only when no JDK >= 21 exists.
export const ES_8_VERSION = '8.19.21';
const POM = path.join(ROOT, 'services', 'elasticsearch', 'pom.xml');
const PLUGIN_SRC = path.join(ROOT, 'services', 'elasticsearch', 'root-info-plugin', 'src');
const MVN_LOG = path.join(LOG_DIR, 'maven-elasticsearch.log');

const major = (version) => Number(String(version).split('.')[0]);

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
  // 8.x has the older ActionPlugin.getRestHandlers parameter list.
  const source = major(version) >= 9 ? src : src.replace(
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
    `java.version=${major(version) >= 9 ? 21 : 17}`,
    `elasticsearch.version=${version}`,
    '',
  ].join('\n'));
  await fsp.writeFile(stampFile, `${stamp}\n`);
  await chownR(pluginDir, user);
  return true;
}

/** A config directory of the instance's own (ES_PATH_CONF): the distribution's, plus ours. */
async function configure({ name, home, version, base, port, user }) {
  const conf = path.join(base, 'conf', name);
  const data = path.join(base, 'data', `${name}-${version}`);
  const logs = path.join(base, 'logs', name);
  await fsp.rm(conf, { recursive: true, force: true });
  await fsp.mkdir(path.dirname(conf), { recursive: true });
  await fsp.cp(path.join(home, 'config'), conf, { recursive: true });
  for (const d of [data, logs]) await fsp.mkdir(d, { recursive: true });
  await fsp.writeFile(path.join(conf, 'elasticsearch.yml'), [
    '# Written by scripts/services.mjs on every `services:up`; edits are overwritten.',
    `cluster.name: movies-${name}`,
    `node.name: movies-${name}`,
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
  ].join('\n'));
  await fsp.mkdir(path.join(conf, 'jvm.options.d'), { recursive: true });
  await fsp.writeFile(path.join(conf, 'jvm.options.d', 'movies.options'), '-Xms512m\n-Xmx512m\n');
  for (const d of [conf, data, logs]) await chownR(d, user);
  return conf;
}

/**
 * One Elasticsearch server. `version` pins it (no fallback), `java` the JDK's major version;
 * without them the default 9.x runs on the newest JDK,
 * or 8.19 when no JDK >= 21 exists.
 */
export function elasticsearch({ name = 'elasticsearch', port, portEnv = 'ES_PORT', version, java } = {}) {
  return searchServer({
    kind: 'elasticsearch',
    name,
    port,
    portEnv,
    version: {
      wanted: version ?? ES_DEFAULT_VERSION,
      explicit: version !== undefined,
      java,
      fallback: ES_8_VERSION,
      minJava: (v) => (major(v) >= 9 ? 21 : 17),
    },
    strayMarker: 'org.elasticsearch',
    graceMs: 60000,
    async prepare({ version: v, jdk, slot }) {
      const user = await ensureServiceUser();
      const zip = await fetchZip(v, slot);
      slot.release();
      const base = await runtimeBase(user);
      const home = await unpack(zip, v, base, user);
      const hasRoot = await installRootInfoPlugin(home, v, jdk, user);
      if (!hasRoot) warn(`${name}: GET / will not answer`);
      const conf = await configure({ name, home, version: v, base, port, user });
      const env = {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        LANG: process.env.LANG || 'C.UTF-8',
        ES_JAVA_HOME: jdk.home,
        ES_PATH_CONF: conf,
        ES_JAVA_OPTS: '',
      };
      const [cmd, args] = asServiceUser(user, env, path.join(home, 'bin', 'elasticsearch'));
      return { cmd, args, env: process.env, cwd: home, extra: { home, base, user: user?.name ?? null } };
    },
    // A per-checkout folder outside the checkout (see runtimeBase) is not a cache: remove it,
    // once no other server of this checkout (another Elasticsearch version) still runs from it.
    async afterDown(rec) {
      if (isOutsideBase(rec.base) && !inUse(rec.base)) await removeDir(rec.base);
    },
  });
}
