import { existsSync } from 'node:fs';
import { readEnvFileSync } from '../../scripts/env-file.mjs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));

/** Service URLs from .services/env (written by `npm run services:up`), overridden by the environment. */
export function serviceEnv(): { DATABASE_URL: string; ELASTICSEARCH_URL: string; OPENSEARCH_URL: string } {
  const vars = readEnvFileSync(`${root}.services/env`);
  const get = (k: string) => {
    const v = process.env[k] || vars[k];
    if (!v) throw new Error(`${k} is not set and .services/env does not define it: run \`npm run services:up\` first`);
    return v;
  };
  return { DATABASE_URL: get('DATABASE_URL'), ELASTICSEARCH_URL: get('ELASTICSEARCH_URL'), OPENSEARCH_URL: get('OPENSEARCH_URL') };
}

export const sharedFixture = fileURLToPath(new URL('../../../shared/data/movies.json', import.meta.url));

/** The real fixture is not in the repo; say so loudly when it is absent. */
export function sharedFixtureOrSkip(t: { skip(msg: string): void }): string | undefined {
  if (existsSync(sharedFixture)) return sharedFixture;
  const msg = `SKIPPED: ${sharedFixture} is absent (the original Django fixture is not committed)`;
  console.warn(msg);
  t.skip(msg);
  return undefined;
}
