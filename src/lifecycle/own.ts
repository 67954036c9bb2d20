import type { Db } from '../db/knex.js';
import { claimUnclaimed, targetsWithPhysical, type AliasKey } from '../db/targets.js';
import type { SearchEngine } from '../engine/types.js';
import { UsageError } from '../core/errors.js';
import type { AliasView } from './resolve.js';

/**
 * Refuses, before anything is changed, a name that is not this index's own to rebuild. The swap
 * moves the name away from what it points to, and deletes a concrete index of that name (an
 * alias cannot share a name with an index). That is right for this index's alias and for an
 * earlier version's concrete index of it, and for nothing else: `--index` naming the concrete
 * index behind another alias would delete it, and that alias would vanish from search.
 */
export async function assertOwnName(o: { db: Db; engine: SearchEngine; key: AliasKey }, view: AliasView): Promise<void> {
  const { alias, indexName } = o.key;
  const unchanged = 'choose another name (--index, --index-prefix); nothing was changed';
  const other = view.all.find((t) => t.indexName !== indexName);
  if (other) {
    throw new UsageError(`"${alias}" is this database's ${other.indexName} index on this cluster, not its ${indexName} index: ${unchanged}`);
  }
  if (view.state.kind !== 'index') return;
  const where = `"${alias}" on the ${o.engine.kind} server is a concrete index`;
  const deleting = 'init-es would delete it to put an alias of that name in its place';
  if (view.state.aliases.length > 0) {
    const aliases = view.state.aliases.join(', ');
    throw new UsageError(
      `${where} behind the alias ${aliases}: ${deleting}, and ${aliases} would vanish from search. ` +
        `--index names the alias users query (such as ${view.state.aliases[0]}), not an index behind one; ${unchanged}`,
    );
  }
  const owner = (await targetsWithPhysical(o.db, o.key.cluster, alias)).find((t) => t.alias !== alias);
  if (owner) {
    throw new UsageError(`${where} of this database's ${owner.indexName} index (target ${owner.id}, ${owner.state}, alias "${owner.alias}"): ${deleting}; ${unchanged}`);
  }
  // An earlier version's index: claimed by start-etl already, or claimed now (its queue is this alias's).
  if (view.live?.physical === alias || (await claimUnclaimed(o.db, o.key))) return;
  throw new UsageError(
    `${where} that this database does not know as an earlier version's ${indexName} index (it has no target of it): ` +
      `${deleting}. If it is to go, delete it yourself; otherwise ${unchanged}`,
  );
}
