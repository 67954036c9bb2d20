import type { Db } from '../db/knex.js';
import { aliasLock, isLockHeld, type LockName } from '../db/lock.js';
import { allTargets, dropTarget, getTarget, pendingByTarget, type TargetRow } from '../db/targets.js';
import { LockedError, UsageError } from '../core/errors.js';
import { INDEXES } from '../indexes/all.js';

export type TargetListing = TargetRow & { pending: number };

/** Every target of this database, with its pending documents. */
export async function listTargets(db: Db): Promise<TargetListing[]> {
  const pending = new Map<number, number>();
  for (const spec of INDEXES) for (const [id, n] of await pendingByTarget(db, spec.queue.table)) pending.set(id, n);
  return (await allTargets(db)).map((t) => ({ ...t, pending: pending.get(t.id) ?? 0 }));
}

/**
 * The locks that refuse dropping a target: a run writing through its alias, an init-es
 * rebuilding it or rollback moving it (any target of the alias), and, for the live target, a
 * watch keeping the alias in step (it would fail every cycle on an alias with no target).
 */
function locksOf(t: TargetRow): Array<{ lock: LockName; holder: string }> {
  if (!t.cluster || !t.alias) return [];
  const holders = {
    run: 'a movies run (start-etl, or init-es or rollback moving the alias) is writing to',
    build: 'an init-es is rebuilding',
    watch: 'a start-etl --watch keeps',
  };
  // A watch first: it holds the run lock too while a cycle runs, and it is the lasting reason.
  const purposes = t.state === 'live' ? (['watch', 'run', 'build'] as const) : (['run', 'build'] as const);
  return purposes.map((p) => ({ lock: aliasLock(p, t.cluster!, t.alias!), holder: holders[p] }));
}

const refused = (t: TargetRow, holder: string) =>
  new LockedError(`${holder} "${t.alias}" on this cluster: target ${t.id} was not dropped (drop it when that is done)`);

/** The target `id` as it would be dropped now; a missing target is a usage error, a held one is refused (exit 6). */
export async function targetToDrop(db: Db, id: number): Promise<TargetListing> {
  const t = await getTarget(db, id);
  if (!t) throw new UsageError(`no target ${id} (see \`movies targets\`)`);
  for (const { lock, holder } of locksOf(t)) if (await isLockHeld(db, lock)) throw refused(t, holder);
  return (await listTargets(db)).find((x) => x.id === id)!;
}

/**
 * Forgets a target and its pending rows: changes stop being queued for it. Its index on the
 * engine is left as it is (the engine may be gone for good, which is why one drops a target);
 * a live target's alias goes on serving that index, no longer kept in step, until init-es.
 * A target that a run, a watch or an init-es holds is refused, checked again as it is dropped.
 */
export async function dropTargetById(db: Db, id: number): Promise<TargetListing> {
  const listed = await targetToDrop(db, id);
  const locks = locksOf(listed);
  const held = await dropTarget(db, id, locks.map((l) => l.lock));
  if (held) throw refused(listed, locks.find((l) => l.lock === held)!.holder);
  return listed;
}
