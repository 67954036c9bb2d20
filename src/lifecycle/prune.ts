import type { Db } from '../db/knex.js';
import { withPgRetry } from '../db/retry.js';
import { dropTarget, keptByHistory, targetsOf, type AliasKey, type TargetRow } from '../db/targets.js';
import { withEngineRetry } from '../engine/errors.js';
import type { SearchEngine } from '../engine/types.js';
import type { RetryPolicy } from '../core/retry.js';

interface PruneOptions {
  db: Db;
  engine: SearchEngine;
  key: AliasKey;
  retry: RetryPolicy;
}

/**
 * Deletes a target's index and forgets the target with its pending rows. The index goes
 * first: a target whose index is gone can always be forgotten later, while an index whose
 * target was forgotten would be left behind unseen.
 */
export async function discardTarget(o: PruneOptions, t: TargetRow, retry: RetryPolicy): Promise<string[]> {
  if (t.physical) await withEngineRetry(`deleting index "${t.physical}"`, () => o.engine.deleteIndex(t.physical!), retry);
  await withPgRetry(async () => {
    if (t.physical) await o.db('movies.etl_saved_settings').where({ index_name: t.physical }).delete();
    await dropTarget(o.db, t.id);
  }, retry);
  return t.physical ? [t.physical] : [];
}

/**
 * Keeps the `keep` indexes that served last before the live one (the alias's serving history,
 * not the order they were built in) for rollback, and deletes the other kept ones.
 */
export async function prune(o: PruneOptions, keep: number): Promise<string[]> {
  const kept = keptByHistory(await withPgRetry(() => targetsOf(o.db, o.key), o.retry));
  const dropped: string[] = [];
  for (const t of kept.slice(keep)) dropped.push(...(await discardTarget(o, t, o.retry)));
  return dropped;
}
