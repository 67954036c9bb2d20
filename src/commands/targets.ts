import type { Db } from '../db/knex.js';
import { aliasLock, isLockHeld } from '../db/lock.js';
import { allTargets, dropTarget, getTarget, pendingByTarget, type TargetRow } from '../db/targets.js';
import { LockedError, UsageError } from '../errors.js';
import { INDEXES } from '../indexes/all.js';

export type TargetListing = TargetRow & { pending: number };

/** Every target of this database, with its pending documents. */
export async function listTargets(db: Db): Promise<TargetListing[]> {
  const pending = new Map<number, number>();
  for (const spec of INDEXES) for (const [id, n] of await pendingByTarget(db, spec.queue.table)) pending.set(id, n);
  return (await allTargets(db)).map((t) => ({ ...t, pending: pending.get(t.id) ?? 0 }));
}

/**
 * Forgets a target and its pending rows: changes stop being queued for it. Its index on the
 * engine is left as it is (the engine may be gone for good, which is why one drops a target).
 * A live target being written to, or an index being built, is refused.
 */
export async function dropTargetById(db: Db, id: number): Promise<TargetListing> {
  const t = await getTarget(db, id);
  if (!t) throw new UsageError(`no target ${id} (see \`movies targets\`)`);
  if (t.cluster && t.alias) {
    for (const purpose of ['run', 'build'] as const) {
      const lock = aliasLock(purpose, t.cluster, t.alias);
      if (await isLockHeld(db, lock)) throw new LockedError(`${lock.held}; drop the target when it is done`);
    }
  }
  const [listed] = (await listTargets(db)).filter((x) => x.id === id);
  await dropTarget(db, id);
  return listed!;
}
