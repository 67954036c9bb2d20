import type { SearchEngine } from '../engine/types.js';
import { withEngineRetry } from '../engine/errors.js';
import { HASH_FIELD, HASH_MAPPING } from '../indexes/content-hash.js';
import type { RetryPolicy } from '../core/retry.js';

// Indexes whose mapping this process already extended: a watch runs a cycle per change, and
// the mapping needs asking once.
const done = new WeakMap<SearchEngine, Set<string>>();

/**
 * Adds the content hash field to an index created before documents carried it, before the
 * first document with the hash is sent to it: the shipped mappings are `dynamic: strict`, so
 * the engine would refuse every document otherwise. Adding a field is an online change.
 */
export async function ensureHashMapping(engine: SearchEngine, physical: string, retry: RetryPolicy): Promise<void> {
  const seen = done.get(engine) ?? new Set<string>();
  done.set(engine, seen);
  if (seen.has(physical)) return;
  await withEngineRetry('adding the content hash to the mapping', () => engine.putMapping(physical, { [HASH_FIELD]: HASH_MAPPING }), retry);
  seen.add(physical);
}
