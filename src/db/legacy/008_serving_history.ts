import type { Knex } from 'knex';

/*
 * The serving history of each alias (issue 21). A target's `live_since` is when the alias last
 * came to point to it (an init-es swap or a rollback; NULL: it never served, e.g. a build).
 * Ordering an alias's targets by it, newest first, is its serving history with repeats folded:
 * the live one, then the one that served before it, and so on. Rollback goes to the first kept
 * one of that order, and init-es prunes the kept ones beyond --keep of it. Before, both went by
 * creation order, so after init-es A, init-es B, rollback (to A), init-es C, C pruned A (which
 * had served until C) and kept B (which the user had rolled away from).
 *
 * Existing databases know only which target is live and when each was created: the live one is
 * taken as the latest to serve, kept ones in the order they were created (the order pruning and
 * rollback used until now, so nothing changes for them on upgrade).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE content.etl_target ADD COLUMN live_since timestamptz NULL;
    UPDATE content.etl_target SET live_since = created_at WHERE state = 'kept';
    UPDATE content.etl_target SET live_since = greatest(now(), created_at) WHERE state = 'live';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE content.etl_target DROP COLUMN live_since');
}
