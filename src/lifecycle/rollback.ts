import { aliasLock, RunLock } from '../db/lock.js';
import { withPgRetry } from '../db/retry.js';
import { pendingStats } from '../db/queue.js';
import { keptByHistory, recordSwap } from '../db/targets.js';
import type { AliasWork } from './work.js';
import { withEngineRetry } from '../engine/errors.js';
import type { AliasAction } from '../engine/types.js';
import { UsageError } from '../core/errors.js';
import { viewAlias } from './resolve.js';

export type RollbackOptions = AliasWork;

export interface RollbackResult {
  alias: string;
  /** The index the alias points to now: the one that served before the one it replaced. */
  physical: string;
  /** The index it pointed to before, now kept in turn (rollback again to come back). */
  previous: string | null;
  /** Changes made since the restored index stopped being live, pending for the next start-etl. */
  pending: number;
  seconds: number;
}

/**
 * Moves the alias back to the index that served before the current one (the first kept target
 * of the alias's serving history whose index still exists) in one atomic `_aliases` call, under
 * the alias's run lock so that no start-etl writes through it meanwhile. The kept index has had
 * every change queued for it since it stopped being live, so the next start-etl brings it in
 * step; the index it replaces is kept in turn and, having served last, is where the next
 * rollback goes. A closed index is refused, not skipped: every search on the alias would fail.
 */
export async function rollback(o: RollbackOptions): Promise<RollbackResult> {
  const started = performance.now();
  const pg = <T>(fn: () => Promise<T>) => withPgRetry(fn, o.retry);
  const lock = await pg(() => RunLock.acquire(o.databaseUrl, o.timeouts, o.wait ?? false, aliasLock('run', o.key.cluster, o.key.alias)));
  try {
    const view = await withEngineRetry('reading the alias', () => pg(() => viewAlias(o.db, o.engine, o.key)), o.retry);
    const kept = keptByHistory(view.all);
    let restore;
    for (const t of kept) {
      const state = await withEngineRetry('reading a kept index', () => o.engine.nameState(t.physical!), o.retry);
      if (state.kind === 'index' && !state.open) {
        throw new UsageError(
          `"${o.key.alias}" would roll back to ${t.physical}, the index that served before the current one, but that index ` +
            `is closed on the ${o.engine.kind} server, and every search on the alias would fail. Open it ` +
            `(POST /${t.physical}/_open) and run rollback again; the alias was left as it was`,
        );
      }
      if (state.kind === 'index') {
        restore = t;
        break;
      }
    }
    if (!restore) {
      throw new UsageError(
        `"${o.key.alias}" has no previous index to roll back to on this cluster` +
          (kept.length ? ` (the kept ${kept.map((t) => t.physical).join(', ')} no longer exist)` : '') +
          '; init-es keeps the previous one (--keep N)',
      );
    }
    const from = view.state.kind === 'alias' ? view.state.indices : [];
    const actions: AliasAction[] = [
      ...from.map((index) => ({ remove: { index, alias: o.key.alias, must_exist: true as const } })),
      { add: { index: restore.physical!, alias: o.key.alias } },
    ];
    await withEngineRetry('moving the alias back', () => o.engine.updateAliases(actions), o.retry);
    await withPgRetry(() => recordSwap(o.db, restore.id), { ...o.retry, signal: undefined });
    const { pending } = await pg(() => pendingStats(o.db, o.spec.queue, restore.id));
    return { alias: o.key.alias, physical: restore.physical!, previous: from[0] ?? null, pending, seconds: (performance.now() - started) / 1000 };
  } finally {
    await lock.release();
  }
}
