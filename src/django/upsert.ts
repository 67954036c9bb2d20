import type { Knex } from 'knex';
import { InvalidDataError } from '../core/errors.js';
import { clip } from '../core/clip.js';
import { pgReason } from '../db/errors.js';
import { enqueue } from '../db/queue.js';
import { filmsIndex } from '../indexes/films/index.js';
import { MODELS, type ModelSpec } from './models.js';

/** A model's temporary staging table (src/django/load.ts). */
export const stage = (spec: ModelSpec) => `movies_stage_${spec.table}`;

/**
 * One model's upsert from staging: later objects with the same pk win, as in Django. `wrap`
 * may embed the INSERT in a larger statement (the fast path adds RETURNING and CTEs).
 */
export async function upsertSql(
  trx: Knex.Transaction,
  spec: ModelSpec,
  wrap: (insert: string) => string = (insert) => insert,
): Promise<void> {
  const names = spec.columns.map((c) => c.name);
  const select = names.map((n) => (n === 'created' || n === 'modified' ? `COALESCE(${n}, now())` : n));
  const insert = `INSERT INTO content.${spec.table} (id, ${names.join(', ')})
       SELECT DISTINCT ON (id) id, ${select.join(', ')} FROM ${stage(spec)} ORDER BY id, seq DESC
       ON CONFLICT (id) DO UPDATE SET ${names.map((n) => `${n} = excluded.${n}`).join(', ')}`;
  await trx.raw(wrap(insert)).catch((err: { code?: string; detail?: string; message: string }) => {
    if (err.code?.startsWith('23')) {
      const detail = err.detail ? ` (${clip(err.detail, 200)})` : '';
      throw new InvalidDataError(`${spec.model}: ${clip(pgReason(err), 200)}${detail}`);
    }
    throw err;
  });
}

/** Told as each model is written, and when the queueing of changed documents begins (for progress). */
export interface UpsertProgress {
  upserted(spec: ModelSpec): void;
  queueing(): void;
}

/** The trigger path: every model upserted with the triggers on, then every loaded film enqueued. */
export async function upsertWithTriggers(trx: Knex.Transaction, progress?: UpsertProgress): Promise<void> {
  for (const spec of MODELS) {
    await upsertSql(trx, spec);
    progress?.upserted(spec);
  }
  progress?.queueing();
  // Loaded films are pending for every target even when their rows did not change.
  const films = MODELS.find((m) => m.table === 'film_work')!;
  await enqueue(trx, filmsIndex.queue, `SELECT DISTINCT id FROM ${stage(films)}`, { index: filmsIndex.name });
}
