import type { Db } from './knex.js';

export interface Analyzed {
  /** Tables whose statistics were refreshed, schema-qualified. */
  tables: string[];
  seconds: number;
  /** Why some were not (a timeout, a lost connection): the data is committed all the same. */
  failed?: string;
}

/*
 * A bulk write leaves the planner without statistics for what it wrote until autovacuum (which
 * may be off, or late) analyzes the tables. `loaddata` does it itself, after its commit, one
 * table at a time: ANALYZE samples a fixed number of rows (about 1 s for the 1M objects of a
 * 100k-film fixture), so its cost does not grow with the load. Each ANALYZE is bounded by the
 * connection's statement and lock timeouts. Without the rights to analyze (not the table's owner)
 * PostgreSQL only warns. A failure here is reported, not raised: the load itself is committed.
 */
export async function analyzeTables(db: Db, tables: string[]): Promise<Analyzed> {
  const started = performance.now();
  const done: string[] = [];
  let failed: string | undefined;
  for (const table of tables) {
    try {
      await db.raw(`ANALYZE ${table}`);
      done.push(table);
    } catch (err) {
      failed = `ANALYZE ${table} failed: ${(err as Error).message}`;
      break;
    }
  }
  return { tables: done, seconds: Math.round(performance.now() - started) / 1000, ...(failed ? { failed } : {}) };
}
