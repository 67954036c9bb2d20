import type { Knex } from 'knex';

/*
 * Targets: pending state per physical index. A target is one concrete index on one engine
 * cluster (the cluster's uuid from GET /), reached by users through an alias. Every queue row
 * now belongs to one target, and the capture functions enqueue each change once per target of
 * the index, so a film acknowledged by one target stays pending for every other (another
 * cluster, an index being rebuilt aside, an index kept for rollback).
 *
 * state: live (the alias points to it), building (init-es is filling it aside), kept (the
 * previous live index, kept for `movies rollback`). A queue holds at most one row per
 * document and target, so a target that is never run again grows to the catalogue's size and
 * no further; `movies targets drop` removes it and its rows.
 *
 * An earlier version kept one queue per index for the one index it fed. Where it has run
 * (etl_run has rows), those rows go to an unclaimed target (cluster NULL) that the first
 * start-etl or init-es against a cluster holding that index as a concrete index claims.
 * Elsewhere the old rows belong to nobody and are dropped: init-es makes every document
 * pending for a new target anyway.
 */
export const QUEUES = [
  { index: 'movies', table: 'film_work_change', id: 'film_work_id', fn: 'enqueue_film_works' },
  { index: 'genres', table: 'genre_change', id: 'genre_id', fn: 'enqueue_genres' },
  { index: 'persons', table: 'person_change', id: 'person_id', fn: 'enqueue_persons' },
] as const;

export type Queue = (typeof QUEUES)[number];

/**
 * The capture triggers' one entry point for a queue: each change once per target of the index,
 * sorted (ON CONFLICT may touch a row once per statement, and a fixed lock order keeps
 * concurrent bulk writers from deadlocking). With `notify` (a channel), a statement that queued
 * something also sends NOTIFY on it while a watch keeps a target of the index (migration 006).
 */
export const enqueueFunction = (q: Queue, o: { notify?: string }) => `
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
    SELECT ${o.notify ? `pg_notify('${o.notify}', '${q.index}')` : 'NULL'} WHERE EXISTS (SELECT 1 FROM queued)${
      o.notify ? `
      AND EXISTS (SELECT 1 FROM content.etl_target WHERE index_name = '${q.index}' AND watched)` : ''
    };
  $$;`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE content.etl_target (
      id serial PRIMARY KEY,
      index_name text NOT NULL CHECK (index_name IN ('movies', 'genres', 'persons')),
      cluster text NULL,
      alias text NULL,
      physical text NULL,
      state text NOT NULL CHECK (state IN ('live', 'building', 'kept')),
      engine text NULL,
      url text NULL,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      UNIQUE (cluster, physical)
    );
    CREATE UNIQUE INDEX etl_target_one_live ON content.etl_target (cluster, alias) WHERE state = 'live';

    INSERT INTO content.etl_target (index_name, state)
    SELECT name, 'live' FROM unnest(ARRAY['movies', 'genres', 'persons']) AS n(name)
    WHERE EXISTS (SELECT 1 FROM content.etl_run);

    ALTER TABLE content.etl_run ADD COLUMN target_id int NULL REFERENCES content.etl_target (id) ON DELETE SET NULL;
  `);
  for (const q of QUEUES) {
    await knex.raw(`
      ALTER TABLE content.${q.table} ADD COLUMN target_id int NULL;
      UPDATE content.${q.table} SET target_id = (SELECT id FROM content.etl_target WHERE index_name = '${q.index}');
      DELETE FROM content.${q.table} WHERE target_id IS NULL;
      ALTER TABLE content.${q.table} ALTER COLUMN target_id SET NOT NULL,
        ADD FOREIGN KEY (target_id) REFERENCES content.etl_target (id) ON DELETE CASCADE,
        DROP CONSTRAINT ${q.table}_pkey,
        ADD PRIMARY KEY (target_id, ${q.id});
      DROP INDEX content.${q.table}_version_idx;
      CREATE INDEX ${q.table}_version_idx ON content.${q.table} (target_id, version);
    `);
    await knex.raw(enqueueFunction(q, {}));
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const q of QUEUES) {
    // Back to one queue per index: a document pending for any target stays pending.
    await knex.raw(`
      DELETE FROM content.${q.table} c USING content.${q.table} d
        WHERE c.${q.id} = d.${q.id} AND (c.version, c.target_id) < (d.version, d.target_id);
      DROP INDEX content.${q.table}_version_idx;
      ALTER TABLE content.${q.table} DROP CONSTRAINT ${q.table}_pkey, DROP COLUMN target_id, ADD PRIMARY KEY (${q.id});
      CREATE INDEX ${q.table}_version_idx ON content.${q.table} (version);
      CREATE OR REPLACE FUNCTION content.${q.fn}(ids uuid[]) RETURNS void
      LANGUAGE sql AS $$
        INSERT INTO content.${q.table} AS c (${q.id})
        SELECT DISTINCT id FROM unnest(ids) AS t(id) WHERE id IS NOT NULL ORDER BY id
        ON CONFLICT (${q.id}) DO UPDATE
          SET version = excluded.version, changed_at = excluded.changed_at;
      $$;
    `);
  }
  await knex.raw(`
    ALTER TABLE content.etl_run DROP COLUMN target_id;
    DROP TABLE content.etl_target;
  `);
}
