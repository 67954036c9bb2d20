import type { Knex } from 'knex';
import { QUEUES } from '../queues.js';

/*
 * movies' own tables, all in schema movies, apart from the catalogue (which movies reads and
 * never alters): per-index queues and rejections, targets, runs, saved index settings. This is
 * the state the earlier migrations (src/db/legacy/) had reached in schema content at 008; a
 * database made by them has its tables moved here before this runs (src/db/legacy/relocate.ts),
 * so this migration then only records itself.
 *
 * targets: pending state per physical index on one engine cluster; state live (the alias points
 * to it), building (init-es fills it aside) or kept (for rollback); live_since orders an alias's
 * serving history; watched while a watch kept it (the capture functions then notified; dropped by 003).
 */
export async function up(knex: Knex): Promise<void> {
  const relocated = await knex.raw<{ rows: Array<{ t: string | null }> }>("SELECT to_regclass('movies.etl_target')::text AS t");
  if (relocated.rows[0]!.t !== null) return;
  await knex.raw(`
    CREATE TABLE movies.etl_target (
      id serial PRIMARY KEY,
      index_name text NOT NULL CHECK (index_name IN ('movies', 'genres', 'persons')),
      cluster text NULL,
      alias text NULL,
      physical text NULL,
      state text NOT NULL CHECK (state IN ('live', 'building', 'kept')),
      engine text NULL,
      url text NULL,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      watched boolean NOT NULL DEFAULT false,
      live_since timestamptz NULL,
      UNIQUE (cluster, physical)
    );
    CREATE UNIQUE INDEX etl_target_one_live ON movies.etl_target (cluster, alias) WHERE state = 'live';

    CREATE TABLE movies.etl_run (
      id bigserial PRIMARY KEY,
      index_name text NOT NULL,
      started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      finished_at timestamptz NULL,
      outcome text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'success', 'failed', 'interrupted')),
      indexed bigint NOT NULL DEFAULT 0,
      deleted bigint NOT NULL DEFAULT 0,
      batches bigint NOT NULL DEFAULT 0,
      error text NULL,
      rejected bigint NOT NULL DEFAULT 0,
      target_id int NULL REFERENCES movies.etl_target (id) ON DELETE SET NULL
    );

    -- Index settings to put back after a bulk load, kept here so a killed run's successor restores them.
    CREATE TABLE movies.etl_saved_settings (
      index_name text PRIMARY KEY,
      settings jsonb NOT NULL
    );
  `);
  for (const q of QUEUES) {
    const seq = q.table.replace(/_change$/, '_change_seq');
    const rejected = q.table.replace(/_change$/, '_rejected');
    await knex.raw(`
      CREATE SEQUENCE movies.${seq};
      CREATE TABLE movies.${q.table} (
        ${q.id} uuid NOT NULL,
        version bigint NOT NULL DEFAULT nextval('movies.${seq}'),
        changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        target_id int NOT NULL REFERENCES movies.etl_target (id) ON DELETE CASCADE,
        PRIMARY KEY (target_id, ${q.id})
      );
      CREATE INDEX ${q.table}_version_idx ON movies.${q.table} (target_id, version);

      -- Documents start-etl --skip-invalid left out, with the version they had.
      CREATE TABLE movies.${rejected} (
        ${q.id} uuid PRIMARY KEY,
        version bigint NOT NULL,
        field text NOT NULL,
        rule text NOT NULL,
        reason text NOT NULL,
        rejected_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
    `);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP SCHEMA IF EXISTS movies CASCADE');
}
