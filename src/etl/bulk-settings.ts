import type { Db } from '../db/knex.js';
import type { SearchEngine } from '../engine/types.js';

/*
 * During a large run the index is switched to bulk-load settings: no refresh. The original value
 * is saved in PostgreSQL first, so that a run killed mid-way has it restored by the next run
 * instead of leaving an index that never refreshes.
 *
 * Replicas are left as they are. Dropping them speeds a load only on a cluster of several nodes,
 * and there it is what loses data: a film acknowledged by a primary without a replica is gone
 * from the index, though marked indexed, if that node does not come back; and until it does,
 * the run stalls on the shards it held. With replicas, a run survives a node stopping mid-way
 * (the three-node cell of COMPATIBILITY.md). On a single node the replicas are unassigned
 * anyway, so keeping them costs nothing there.
 */
const SAVED = 'movies.etl_saved_settings';

export async function restoreSavedSettings(db: Db, engine: SearchEngine, index: string): Promise<boolean> {
  const r = await db.raw<{ rows: Array<{ settings: Record<string, unknown> }> }>(
    `SELECT settings FROM ${SAVED} WHERE index_name = ?`,
    [index],
  );
  const saved = r.rows[0]?.settings;
  if (!saved) return false;
  if (await engine.indexExists(index)) await engine.putIndexSettings(index, saved);
  await db.raw(`DELETE FROM ${SAVED} WHERE index_name = ?`, [index]);
  return true;
}

export async function applyBulkSettings(db: Db, engine: SearchEngine, index: string): Promise<void> {
  const current = await engine.getIndexSettings(index);
  const original = { 'index.refresh_interval': current['index.refresh_interval'] ?? '1s' };
  await db.raw(`INSERT INTO ${SAVED} (index_name, settings) VALUES (?, ?) ON CONFLICT (index_name) DO NOTHING`, [
    index,
    JSON.stringify(original),
  ]);
  await engine.putIndexSettings(index, { 'index.refresh_interval': '-1' });
}
