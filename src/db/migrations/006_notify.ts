import type { Knex } from 'knex';
import { enqueueFunction, QUEUES } from './005_targets.js';

/*
 * Change notification for `start-etl --watch`. Each capture function now also sends
 * NOTIFY movies_changes once per statement that queued something, with the index's name as
 * the payload. PostgreSQL delivers it at commit (never for a rolled-back write) and folds
 * identical notifications of one transaction into one. The watch loop treats it only as a
 * wake-up: what is pending is always read from the queues, and a poll catches anything a
 * listener missed (while reconnecting, say).
 */
export const CHANNEL = 'movies_changes';

export async function up(knex: Knex): Promise<void> {
  for (const q of QUEUES) await knex.raw(enqueueFunction(q, { notify: CHANNEL }));
}

export async function down(knex: Knex): Promise<void> {
  for (const q of QUEUES) await knex.raw(enqueueFunction(q, {}));
}
