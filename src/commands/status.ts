import type { Db } from '../db/knex.js';
import type { SearchEngine } from '../engine/types.js';
import { isLockHeld } from '../etl/state.js';

export interface StatusResult {
  index: string;
  films: number;
  pending: number;
  /** Films deleted from the catalogue whose documents are still to be removed. */
  pendingDeletes: number;
  running: boolean;
  lastRun: null | {
    startedAt: string;
    finishedAt: string | null;
    outcome: string;
    indexed: number;
    deleted: number;
    error: string | null;
  };
  engine: { kind: string; version: string; documents: number | null; error?: string };
}

export interface StatusOptions {
  db: Db;
  /** Null when the engine could not be reached: status still reports the database side. */
  engine: SearchEngine | null;
  engineError?: string;
  index: string;
}

export async function status(o: StatusOptions): Promise<StatusResult> {
  const counts = await o.db.raw<{ rows: Array<{ films: number; pending: number; pending_deletes: number }> }>(`
    SELECT (SELECT count(*)::int FROM content.film_work) AS films,
           (SELECT count(*)::int FROM content.film_work_change) AS pending,
           (SELECT count(*)::int FROM content.film_work_change c
             WHERE NOT EXISTS (SELECT 1 FROM content.film_work f WHERE f.id = c.film_work_id)) AS pending_deletes`);
  const last = await o.db('content.etl_run').where({ index_name: o.index }).orderBy('id', 'desc').first();
  const running = await isLockHeld(o.db);
  let documents: number | null = null;
  let error = o.engineError;
  try {
    if (o.engine) {
      documents = (await o.engine.indexExists(o.index)) ? await o.engine.count(o.index) : null;
      if (documents === null) error = `index "${o.index}" does not exist`;
    }
  } catch (err) {
    error = (err as Error).message;
  }
  const c = counts.rows[0]!;
  return {
    index: o.index,
    films: c.films,
    pending: c.pending,
    pendingDeletes: c.pending_deletes,
    running,
    lastRun: last
      ? {
          startedAt: new Date(last.started_at).toISOString(),
          finishedAt: last.finished_at ? new Date(last.finished_at).toISOString() : null,
          // A 'running' row with no lock holder is a run that was killed.
          outcome: last.outcome === 'running' && !running ? 'interrupted' : last.outcome,
          indexed: Number(last.indexed),
          deleted: Number(last.deleted),
          error: last.error,
        }
      : null,
    engine: { kind: o.engine?.kind ?? 'unknown', version: o.engine?.version ?? 'unknown', documents, ...(error ? { error } : {}) },
  };
}
