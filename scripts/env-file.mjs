// The one reader of .services/env, for the services scripts, the demo and the tests alike.
import { readFileSync } from 'node:fs';

/** KEY=value lines (optionally `export`ed, optionally quoted) into an object. */
export function parseEnvFile(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
  }
  return out;
}

/** The file's variables, or {} when it does not exist. */
export function readEnvFileSync(path) {
  try {
    return parseEnvFile(readFileSync(path, 'utf8'));
  } catch {
    return {};
  }
}
