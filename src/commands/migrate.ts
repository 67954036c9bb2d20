import type { Db } from '../db/knex.js';

export interface MigrateResult {
  applied: string[];
  /** Every migration the database now has. */
  current: string[];
}

export async function migrate(o: { db: Db }): Promise<MigrateResult> {
  const [, applied] = (await o.db.migrate.latest()) as [number, string[]];
  const [completed] = (await o.db.migrate.list()) as [Array<{ name: string } | string>, unknown];
  return { applied, current: completed.map((m) => (typeof m === 'string' ? m : m.name)) };
}
