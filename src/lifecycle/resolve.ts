import type { IndexChoice } from '../config/types.js';
import type { Db } from '../db/knex.js';
import { claimUnclaimed, recordSwap, targetsOf, type AliasKey, type TargetRow } from '../db/targets.js';
import type { NameState, SearchEngine } from '../engine/types.js';
import { ConnectionError, IndexMissingError } from '../core/errors.js';
import type { Destination } from '../etl/destination.js';
import { redactUrl } from '../core/redact.js';

/** The alias `choice` names on the connected cluster. */
export function aliasKey(engine: SearchEngine, choice: IndexChoice, url: string): AliasKey {
  if (engine.cluster === 'unknown') {
    throw new ConnectionError(`the ${engine.kind} server at ${redactUrl(url)} reports no cluster uuid yet (GET /); is its cluster formed?`);
  }
  return { indexName: choice.spec.name, cluster: engine.cluster, alias: choice.index, engine: `${engine.kind} ${engine.version}`, url: redactUrl(url) };
}

export interface AliasView {
  /** What the alias name is on the engine now. */
  state: NameState;
  /** The target the alias points to, as the database records it. */
  live?: TargetRow;
  all: TargetRow[];
}

/**
 * Reads the alias from the engine and the database, and brings the database in line when the
 * alias points to one of its targets that is not recorded live: the engine was moved but the
 * process died before recording it (a swap or a rollback).
 */
export async function viewAlias(db: Db, engine: SearchEngine, key: Pick<AliasKey, 'cluster' | 'alias'>): Promise<AliasView> {
  const state = await engine.nameState(key.alias);
  let all = await targetsOf(db, key);
  const pointedTo = state.kind === 'alias' && state.indices.length === 1 ? all.find((t) => t.physical === state.indices[0]) : undefined;
  if (pointedTo && pointedTo.state !== 'live') {
    await recordSwap(db, pointedTo.id);
    all = await targetsOf(db, key);
  }
  return { state, live: all.find((t) => t.state === 'live'), all };
}

/** The one message for an index that does not exist (exit 8), wherever a command meets it. */
export const indexMissing = (alias: string, engine: Pick<SearchEngine, 'kind'>, url: string) =>
  new IndexMissingError(`index "${alias}" does not exist on the ${engine.kind} server at ${redactUrl(url)}; run \`movies init-es\` first`);

/** Where start-etl writes for an alias, and whose pending documents it takes. */
export async function destinationFor(db: Db, engine: SearchEngine, key: AliasKey): Promise<{ target: TargetRow; dest: Destination }> {
  const { state, live: recorded } = await viewAlias(db, engine, key);
  // An earlier version's concrete index, first met here after the upgrade: its queue is this target's.
  const live = recorded ?? (state.kind === 'index' ? await claimUnclaimed(db, key) : undefined);
  const where = `on the ${engine.kind} server at ${key.url}`;
  if (!live) {
    throw state.kind === 'missing'
      ? indexMissing(key.alias, engine, key.url)
      : new IndexMissingError(
          `"${key.alias}" ${where} is not a target of this database (see \`movies targets\`); run \`movies init-es\` to build it`,
        );
  }
  const physical = live.physical!;
  if (state.kind === 'alias' && state.indices.length === 1 && state.indices[0] === physical) {
    return { target: live, dest: { target: live.id, write: key.alias, physical, viaAlias: true } };
  }
  if (state.kind === 'index' && physical === key.alias) {
    return { target: live, dest: { target: live.id, write: key.alias, physical, viaAlias: false } };
  }
  const now =
    state.kind === 'missing' ? 'does not exist' : state.kind === 'index' ? 'is a concrete index' : `points to ${state.indices.join(', ')}`;
  throw new IndexMissingError(
    `"${key.alias}" ${where} ${now}, but this database's target for it is index ${physical}: it was deleted or ` +
      `replaced outside movies. Run \`movies init-es\` to rebuild it.`,
  );
}
