import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from './errors.js';

/**
 * The mappings shipped with the package, by name. They are found next to the installed code, so
 * `--mapping nostem` works from any directory and from a global install, where a path such as
 * mappings/movies.nostem.json would only work inside the checkout.
 */
const shipped = {
  default: 'movies.json',
  movies: 'movies.json',
  nostem: 'movies.nostem.json',
} as const;

export const mappingNames = Object.keys(shipped) as (keyof typeof shipped)[];

function shippedPath(file: string): string {
  // dist/mappings.js and src/mappings.ts both sit one level below the package root.
  return fileURLToPath(new URL(`../mappings/${file}`, import.meta.url));
}

function isFile(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * What `--mapping` names: nothing (the default mapping), a shipped mapping's name, or a file
 * path (relative to the working directory). A name wins over a file of the same name in the
 * working directory; anything else that is not a file is a usage error that lists the names.
 */
export function resolveMappingPath(nameOrPath: string | undefined): string {
  if (nameOrPath === undefined || nameOrPath === '') return shippedPath(shipped.default);
  if (Object.hasOwn(shipped, nameOrPath)) return shippedPath(shipped[nameOrPath as keyof typeof shipped]);
  if (isFile(nameOrPath)) return nameOrPath;
  throw new UsageError(
    `--mapping ${nameOrPath}: no such file, and not a shipped mapping (${mappingNames.join(', ')}); ` +
      `pass one of those names or the path of a mapping file`,
  );
}
