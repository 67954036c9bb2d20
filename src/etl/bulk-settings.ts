import type { Db } from '../db/knex.js';
import type { SearchEngine } from '../engine/types.js';

/*
 * During a large run the index is switched to bulk-load settings (no refresh, no replicas).
 * The original values are saved in PostgreSQL first, so that a run killed mid-way has them
 * restored by the next run instead of leaving an index that never refreshes.
 */
const SAVED = 'content.etl_saved_settings';

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
  const original = {
    'index.refresh_interval': current['index.refresh_interval'] ?? '1s',
    'index.number_of_replicas': current['index.number_of_replicas'] ?? '1',
  };
  await db.raw(`INSERT INTO ${SAVED} (index_name, settings) VALUES (?, ?) ON CONFLICT (index_name) DO NOTHING`, [
    index,
    JSON.stringify(original),
  ]);
  await engine.putIndexSettings(index, { 'index.refresh_interval': '-1', 'index.number_of_replicas': '0' });
}
