import { readEnvFileSync } from '../../scripts/env-file.mjs';
import { root, serviceEnv } from './env.js';
import type { CaptureName } from '../../src/capture/mode.js';

/** One capture mode the capture-facing suites run in, on the database server that allows it. */
export interface Capture {
  mode: CaptureName;
  /** A server for this mode: the everyday one for triggers; one with wal_level = logical for logical. */
  databaseUrl: string;
}

/** The server with wal_level = logical: DATABASE_URL_LOGICAL (the environment, else .services/env). */
function logicalUrl(): string {
  const v = process.env.DATABASE_URL_LOGICAL || readEnvFileSync(`${root}.services/env`).DATABASE_URL_LOGICAL;
  if (!v) throw new Error('DATABASE_URL_LOGICAL is not set and .services/env does not define it: run `npm run services:up` first');
  return v;
}

/**
 * Every capture mode the suites loop over, each as its own describe with its own database.
 * MOVIES_TEST_CAPTURES (comma-separated) narrows them: the compatibility matrix's engine and
 * Node.js cells run triggers only (capture does not depend on either), its PostgreSQL cell both.
 */
export const CAPTURES: readonly Capture[] = (process.env.MOVIES_TEST_CAPTURES || 'triggers,logical')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
  .map((mode) => {
    if (mode === 'triggers') return { mode, databaseUrl: serviceEnv().DATABASE_URL };
    if (mode === 'logical') return { mode, databaseUrl: logicalUrl() };
    throw new Error(`MOVIES_TEST_CAPTURES names an unknown capture mode: ${mode}`);
  });
