import type { Knex } from 'knex';

/*
 * Writers no longer NOTIFY a watch (a watch looks at the queues: src/watch/poller.ts), so the
 * flag that told the capture functions a watch kept a target goes. The functions themselves are
 * rendered again by the same `movies migrate` (src/capture/), without NOTIFY.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE movies.etl_target DROP COLUMN IF EXISTS watched');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE movies.etl_target ADD COLUMN watched boolean NOT NULL DEFAULT false');
}
