import type { Knex } from 'knex';
import { QUEUES } from './005_targets.js';

/*
 * Change notification for `start-etl --watch`. Each capture function now also sends
 * NOTIFY movies_changes once per statement that queued something, with the index's name as
 * the payload. PostgreSQL delivers it at commit (never for a rolled-back write) and folds
 * identical notifications of one transaction into one. The watch loop treats it only as a
 * wake-up: what is pending is always read from the queues, and a poll catches anything a
 * listener missed (while reconnecting, say).
 */
export const CHANNEL = 'movies_changes';


const enqueueFunction = (q: (typeof QUEUES)[number], notify: boolean) => `
  CREATE OR REPLACE FUNCTION content.${q.fn}(ids uuid[]) RETURNS void
  LANGUAGE sql AS $$
    WITH queued AS (
      INSERT INTO content.${q.table} AS c (target_id, ${q.id})
      SELECT t.id, d.id
      FROM content.etl_target t
      CROSS JOIN (SELECT DISTINCT id FROM unnest(ids) AS u(id) WHERE id IS NOT NULL) d
      WHERE t.index_name = '${q.index}'
      ORDER BY 1, 2
      ON CONFLICT (target_id, ${q.id}) DO UPDATE
        SET version = excluded.version, changed_at = excluded.changed_at
      RETURNING 1
    )
    SELECT ${notify ? `pg_notify('${CHANNEL}', '${q.index}')` : 'NULL'} WHERE EXISTS (SELECT 1 FROM queued);
  $$;`;

export async function up(knex: Knex): Promise<void> {
  for (const q of QUEUES) await knex.raw(enqueueFunction(q, true));
}

export async function down(knex: Knex): Promise<void> {
  for (const q of QUEUES) await knex.raw(enqueueFunction(q, false));
}
