// Where the services scripts keep their files, and the knobs they read from the environment.
import { parseEnvFile } from '../env-file.mjs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceError } from './log.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SVC_DIR = path.join(ROOT, '.services');
export const CACHE_DIR = path.join(SVC_DIR, 'cache');
export const LOG_DIR = path.join(SVC_DIR, 'logs');
export const ENV_FILE = path.join(SVC_DIR, 'env');

export async function ensureDirs() {
  for (const d of [SVC_DIR, CACHE_DIR, LOG_DIR]) await fsp.mkdir(d, { recursive: true });
}

/** How long a server may take to become healthy: SERVICES_TIMEOUT seconds, default 180. */
export function timeoutSeconds() {
  const v = Number(process.env.SERVICES_TIMEOUT);
  return Number.isFinite(v) && v > 0 ? v : 180;
}

/** A port from the environment variable `name`, or `dflt`. */
export function envPort(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ServiceError(`${name}=${raw} is not a valid port`);
  return n;
}

/** The variables in .services/env ({} when it does not exist yet). */
export async function readEnvFile() {
  let text = '';
  try {
    text = await fsp.readFile(ENV_FILE, 'utf8');
  } catch {
    return {};
  }
  return parseEnvFile(text);
}
