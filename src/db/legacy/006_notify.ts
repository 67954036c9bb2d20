import type { Knex } from 'knex';
import { enqueueFunction, QUEUES } from './005_targets.js';

/*
 * Change notification for `start-etl --watch`. Each capture function now also sends
 * NOTIFY movies_changes once per statement that queued something, with the index's name as
 * the payload. PostgreSQL delivers it at commit (never for a rolled-back write) and folds
 * identical notifications of one transaction into one. The watch loop treats it only as a
 * wake-up: what is pending is always read from the queues, and a poll catches anything a
 * listener missed (while reconnecting, say).
 *
 * Only while a watch keeps a target of the index (etl_target.watched): PostgreSQL lets one
 * transaction that notified commit at a time, until its commit record is flushed, which
 * serializes concurrent writers (measured: 434-500 commits/s with 50 writers here). Without a
 * watch, writers keep sharing flushes as before. The watch sets the flag on its live targets
 * each cycle and clears it when it stops; a one-shot run clears a flag a killed watch left.
 */
export const CHANNEL = 'movies_changes';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE content.etl_target ADD COLUMN watched boolean NOT NULL DEFAULT false');
  for (const q of QUEUES) await knex.raw(enqueueFunction(q, { notify: CHANNEL }));
}

export async function down(knex: Knex): Promise<void> {
  for (const q of QUEUES) await knex.raw(enqueueFunction(q, {}));
  await knex.raw('ALTER TABLE content.etl_target DROP COLUMN watched');
}
