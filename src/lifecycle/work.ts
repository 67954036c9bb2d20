import type { Timeouts } from '../config/types.js';
import type { Db } from '../db/knex.js';
import type { AliasKey } from '../db/targets.js';
import type { SearchEngine } from '../engine/types.js';
import type { IndexSpec } from '../indexes/spec.js';
import type { RetryPolicy } from '../core/retry.js';

/** What every operation on one alias takes: both servers, the alias and its index, bounds and retries. */
export interface AliasWork {
  db: Db;
  engine: SearchEngine;
  databaseUrl: string;
  timeouts: Timeouts;
  retry: RetryPolicy;
  key: AliasKey;
  spec: IndexSpec;
  /** Wait for a run holding the alias's lock instead of exiting. */
  wait?: boolean;
}
