// Small file helpers: existence, hashing, atomic writes, log tails and unpacking archives.
import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import { run } from './run.mjs';
import { ServiceError, log } from './log.mjs';

export async function exists(p) {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}

export function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

export async function readJson(file) {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch {
    return null;
  }
}

export async function writeFileAtomic(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, data);
  await fsp.rename(tmp, file);
}

/** Last `lines` lines of a log file (for error reports). */
export async function tail(file, lines = 25, fromOffset = 0) {
  try {
    const buf = await fsp.readFile(file);
    const text = buf.subarray(Math.min(fromOffset, buf.length)).toString('utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Unpacks a zip with unzip(1), or with python3's zipfile (keeping the unix permission bits). */
export async function unzip(zip, dest) {
  const r = await run('unzip', ['-q', '-o', zip, '-d', dest]);
  if (r.code === 0) return;
  if (r.code !== 127) throw new ServiceError(`unzip ${zip} failed: ${r.stderr.trim()}`);
  const py = 'import sys,zipfile,os\nz=zipfile.ZipFile(sys.argv[1])\nfor i in z.infolist():\n  p=z.extract(i,sys.argv[2])\n  m=(i.external_attr>>16)&0o777\n  if m: os.chmod(p,m)\n';
  const r2 = await run('python3', ['-c', py, zip, dest]);
  if (r2.code !== 0) throw new ServiceError(`cannot unpack ${zip}: neither unzip nor python3 worked (${r2.stderr.trim()})`);
}

/** Removes a directory, saying so, tolerating its absence. */
export async function removeDir(dir) {
  log(`removing ${dir}`);
  await fsp.rm(dir, { recursive: true, force: true });
}
