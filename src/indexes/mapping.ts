import { existsSync, statSync } from 'node:fs';
import { UsageError } from '../core/errors.js';
import type { IndexSpec } from './spec.js';

function isFile(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The names `--mapping` accepts for an index: its shipped mappings, and its own name for the default. */
export const mappingNames = (spec: Pick<IndexSpec, 'name' | 'mappings'>): string[] => [...Object.keys(spec.mappings), spec.name];

/**
 * What `--mapping` names: nothing (the default mapping), a shipped mapping's name, or a file
 * path (relative to the working directory). Shipped mappings are found next to the installed
 * code (IndexSpec.mappings), so `--mapping nostem` works from any directory and from a global
 * install. A name wins over a file of the same name; anything else that is not a file is a
 * usage error that lists the names.
 */
export function resolveMappingPath(spec: Pick<IndexSpec, 'name' | 'mappings'>, nameOrPath: string | undefined): string {
  if (nameOrPath === undefined || nameOrPath === '' || nameOrPath === spec.name) return spec.mappings.default!;
  if (Object.hasOwn(spec.mappings, nameOrPath)) return spec.mappings[nameOrPath]!;
  if (isFile(nameOrPath)) return nameOrPath;
  throw new UsageError(
    `--mapping ${nameOrPath}: no such file, and not a shipped mapping (${mappingNames(spec).join(', ')}); ` +
      `pass one of those names or the path of a mapping file`,
  );
}
