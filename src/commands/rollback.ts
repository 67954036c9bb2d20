import type { IndexChoice, Timeouts } from '../config/types.js';
import type { Db } from '../db/knex.js';
import type { SearchEngine } from '../engine/types.js';
import { aliasKey } from '../lifecycle/resolve.js';
import { rollback as rollbackAlias, type RollbackResult } from '../lifecycle/rollback.js';
import type { RetryPolicy } from '../core/retry.js';

export interface RollbackCommandOptions {
  db: Db;
  engine: SearchEngine;
  databaseUrl: string;
  engineUrl: string;
  timeouts: Timeouts;
  retry: RetryPolicy;
  indexes: IndexChoice[];
  wait?: boolean;
}

export type RollbackCommandResult = RollbackResult & { indexes: RollbackResult[] };

/** Moves each alias back to its previous index (src/lifecycle/rollback.ts). */
export async function rollback(o: RollbackCommandOptions): Promise<RollbackCommandResult> {
  const indexes: RollbackResult[] = [];
  for (const c of o.indexes) indexes.push(await rollbackAlias({ ...o, key: aliasKey(o.engine, c, o.engineUrl), spec: c.spec }));
  return { ...indexes[0]!, indexes };
}
