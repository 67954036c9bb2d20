// The JDKs on this machine, and the choice of a server version and the JDK it runs on.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { exists } from './files.mjs';
import { ServiceError, warn } from './log.mjs';
import { run } from './run.mjs';

/** JDKs (with javac) found under /usr/lib/jvm and $JAVA_HOME, newest first. */
async function findJdks() {
  const candidates = new Set();
  // SERVICES_JAVA_HOME pins the JDK (e.g. to test the Java 17 fallbacks); otherwise scan.
  const roots = process.env.SERVICES_JAVA_HOME ? [] : ['/usr/lib/jvm', '/usr/local/lib/jvm', '/opt/java'];
  for (const root of roots) {
    let names = [];
    try {
      names = await fsp.readdir(root);
    } catch {
      continue;
    }
    for (const n of names) candidates.add(path.join(root, n));
  }
  if (process.env.SERVICES_JAVA_HOME) candidates.add(process.env.SERVICES_JAVA_HOME);
  else if (process.env.JAVA_HOME) candidates.add(process.env.JAVA_HOME);
  const seen = new Set();
  const jdks = [];
  for (const c of candidates) {
    let real;
    try {
      real = await fsp.realpath(c);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    if (!(await exists(path.join(real, 'bin', 'java'))) || !(await exists(path.join(real, 'bin', 'javac')))) continue;
    let version = null;
    try {
      const release = await fsp.readFile(path.join(real, 'release'), 'utf8');
      version = /^JAVA_VERSION="([^"]+)"/m.exec(release)?.[1] ?? null;
    } catch {
      const r = await run(path.join(real, 'bin', 'java'), ['-version']);
      version = /version "([^"]+)"/.exec(r.stderr)?.[1] ?? null;
    }
    if (!version) continue;
    const major = Number(version.startsWith('1.') ? version.split('.')[1] : version.split(/[.+-]/)[0]);
    if (!Number.isFinite(major)) continue;
    jdks.push({ home: real, version, major });
  }
  jdks.sort((a, b) => b.major - a.major || b.version.localeCompare(a.version, undefined, { numeric: true }));
  return jdks;
}

/** The newest JDK of at least `minMajor` (of exactly `exact` when given), or null. */
async function newestJdk(minMajor, exact) {
  const jdks = await findJdks();
  return jdks.find((j) => (exact ? j.major === exact : j.major >= minMajor)) ?? null;
}

/**
 * The version to run and its JDK: `wanted` on the newest JDK it accepts (`minJava(version)`);
 * when no such JDK exists and the version was not asked for explicitly, `fallback` (a version
 * that runs on Java 17) with a warning. `java` pins the JDK's major version (the compatibility
 * servers run on the Java their users have: 17 for Elasticsearch 8 and OpenSearch 2).
 */
export async function chooseVersionAndJdk({ label, wanted, explicit, fallback, minJava, java }) {
  let jdk = await newestJdk(minJava(wanted), java);
  if (jdk) return { version: wanted, jdk };
  if (java) throw new ServiceError(`${label} ${wanted} is to run on Java ${java}, and no JDK ${java} was found under /usr/lib/jvm`);
  if (!explicit && fallback) {
    jdk = await newestJdk(minJava(fallback));
    if (jdk) {
      warn(`no JDK >= ${minJava(wanted)} found (have: ${(await findJdks()).map((j) => j.version).join(', ') || 'none'}); falling back to ${label} ${fallback} on Java ${jdk.version}`);
      return { version: fallback, jdk };
    }
  }
  throw new ServiceError(`${label} ${wanted} needs a JDK >= ${minJava(wanted)}; none found under /usr/lib/jvm (set SERVICES_JAVA_HOME)`);
}
