import type { Knex } from 'knex';

/*
 * Change capture. Every write that can change a film's document, by any writer, upserts
 * the film's id into content.film_work_change with a fresh version from a sequence.
 * start-etl reads (id, version), indexes, and deletes the row only if the version is
 * still the one it read (see src/etl/state.ts). The triggers are statement-level with
 * transition tables, so a bulk UPDATE costs one INSERT ... SELECT, not one per row.
 * The change table has no foreign key: a deleted film keeps its row until the engine
 * has acknowledged the delete.
 */
/**
 * The link tables' capture function. `lock` is SQL run first, before anything is queued:
 * migration 007 puts there the locks that make a rename and a new link wait for each other.
 */
export const linkCaptureFunction = (lock: string) => `
    CREATE OR REPLACE FUNCTION content.capture_film_work_link() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN${lock}
      IF TG_OP = 'INSERT' THEN
        PERFORM content.enqueue_film_works(ARRAY(SELECT film_work_id FROM new_rows));
      ELSIF TG_OP = 'UPDATE' THEN
        PERFORM content.enqueue_film_works(ARRAY(
          SELECT film_work_id FROM new_rows UNION SELECT film_work_id FROM old_rows));
      ELSIF TG_OP = 'DELETE' THEN
        PERFORM content.enqueue_film_works(ARRAY(SELECT film_work_id FROM old_rows));
      ELSE
        EXECUTE format('SELECT content.enqueue_film_works(ARRAY(SELECT DISTINCT film_work_id FROM %s))',
                       TG_RELID::regclass);
      END IF;
      RETURN NULL;
    END $$;`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE SEQUENCE content.film_work_change_seq;

    CREATE TABLE content.film_work_change (
      film_work_id uuid PRIMARY KEY,
      version bigint NOT NULL DEFAULT nextval('content.film_work_change_seq'),
      changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE INDEX film_work_change_version_idx ON content.film_work_change (version);

    CREATE TABLE content.etl_run (
      id bigserial PRIMARY KEY,
      index_name text NOT NULL,
      started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      finished_at timestamptz NULL,
      outcome text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'success', 'failed')),
      indexed bigint NOT NULL DEFAULT 0,
      deleted bigint NOT NULL DEFAULT 0,
      batches bigint NOT NULL DEFAULT 0,
      error text NULL
    );

    -- Index settings to put back after a bulk load, kept here so a killed run's successor restores them.
    CREATE TABLE content.etl_saved_settings (
      index_name text PRIMARY KEY,
      settings jsonb NOT NULL
    );

    -- Sorted and distinct: ON CONFLICT may touch a row once per statement, and a fixed
    -- lock order keeps concurrent bulk writers from deadlocking each other.
    CREATE FUNCTION content.enqueue_film_works(ids uuid[]) RETURNS void
    LANGUAGE sql AS $$
      INSERT INTO content.film_work_change AS c (film_work_id)
      SELECT DISTINCT id FROM unnest(ids) AS t(id) WHERE id IS NOT NULL ORDER BY id
      ON CONFLICT (film_work_id) DO UPDATE
        SET version = excluded.version, changed_at = excluded.changed_at;
    $$;

    CREATE FUNCTION content.capture_film_work() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        PERFORM content.enqueue_film_works(ARRAY(SELECT id FROM new_rows));
      ELSIF TG_OP = 'UPDATE' THEN
        PERFORM content.enqueue_film_works(ARRAY(
          SELECT n.id FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
          WHERE o IS NULL OR o IS DISTINCT FROM n
          UNION ALL
          SELECT o.id FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id)));
      ELSIF TG_OP = 'DELETE' THEN
        PERFORM content.enqueue_film_works(ARRAY(SELECT id FROM old_rows));
      ELSE -- TRUNCATE, fired BEFORE, while the rows still exist
        PERFORM content.enqueue_film_works(ARRAY(SELECT id FROM content.film_work));
      END IF;
      RETURN NULL;
    END $$;

    ${linkCaptureFunction('')}

    -- A genre or person affects documents through its name only; other edits enqueue nothing.
    -- Arguments: the name column, the link table, the link table's column for this row's id.
    CREATE FUNCTION content.capture_rename() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      EXECUTE format(
        'SELECT content.enqueue_film_works(ARRAY(
           SELECT l.film_work_id FROM new_rows n JOIN old_rows o ON o.id = n.id
           JOIN content.%I l ON l.%I = n.id
           WHERE o.%I IS DISTINCT FROM n.%I))',
        TG_ARGV[1], TG_ARGV[2], TG_ARGV[0], TG_ARGV[0]);
      RETURN NULL;
    END $$;
  `);

  for (const [table, fn] of [
    ['film_work', 'capture_film_work'],
    ['film_work_genre', 'capture_film_work_link'],
    ['film_work_person', 'capture_film_work_link'],
  ] as const) {
    await knex.raw(`
      CREATE TRIGGER ${table}_capture_ins AFTER INSERT ON content.${table}
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION content.${fn}();
      CREATE TRIGGER ${table}_capture_upd AFTER UPDATE ON content.${table}
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION content.${fn}();
      CREATE TRIGGER ${table}_capture_del AFTER DELETE ON content.${table}
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION content.${fn}();
      CREATE TRIGGER ${table}_capture_trunc BEFORE TRUNCATE ON content.${table}
        FOR EACH STATEMENT EXECUTE FUNCTION content.${fn}();
    `);
  }
  // Renames reach documents through links; deleting a genre or person cascades to the
  // link tables, whose own triggers enqueue the films.
  await knex.raw(`
    CREATE TRIGGER genre_capture_upd AFTER UPDATE ON content.genre
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
      EXECUTE FUNCTION content.capture_rename('genre', 'film_work_genre', 'genre_id');
    CREATE TRIGGER person_capture_upd AFTER UPDATE ON content.person
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
      EXECUTE FUNCTION content.capture_rename('name', 'film_work_person', 'person_id');
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER IF EXISTS genre_capture_upd ON content.genre;
    DROP TRIGGER IF EXISTS person_capture_upd ON content.person;
  `);
  for (const table of ['film_work', 'film_work_genre', 'film_work_person']) {
    for (const t of ['ins', 'upd', 'del', 'trunc']) {
      await knex.raw(`DROP TRIGGER IF EXISTS ${table}_capture_${t} ON content.${table}`);
    }
  }
  await knex.raw(`
    DROP FUNCTION IF EXISTS content.capture_rename(),
      content.capture_film_work(), content.capture_film_work_link(), content.enqueue_film_works(uuid[]);
    DROP TABLE IF EXISTS content.etl_saved_settings, content.etl_run, content.film_work_change;
    DROP SEQUENCE IF EXISTS content.film_work_change_seq;
  `);
}
