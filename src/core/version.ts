import { readFileSync } from 'node:fs';

/*
 * movies' version, from its package.json (two levels up from both src/core/ and dist/core/),
 * read once: `movies --version` and movies_build_info say the same.
 */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
