import type { Knex } from 'knex';

/*
 * Change capture for the genres and persons indexes, the same way 002 does it for films:
 * every write that can change a genre's or a person's document, by any writer, upserts the
 * document's id into its queue with a fresh version; start-etl deletes the row only if the
 * version is still the one it read. Triggers are statement-level with transition tables, so
 * loaddata's one INSERT of hundreds of thousands of links costs one INSERT ... SELECT here.
 *
 * Which writes touch which document:
 *   genre {id, name, description}: INSERT, DELETE, TRUNCATE of content.genre, and an UPDATE
 *     that changes genre or description (or the id). Links and films do not reach it.
 *   person {id, full_name, films: [{id, roles}]}: INSERT, DELETE, TRUNCATE of content.person,
 *     an UPDATE that changes name (or the id), and any link of content.film_work_person added,
 *     removed or changed in film, person or job: both the old and the new person. A deleted
 *     film reaches persons through the cascade to its links, whose triggers fire as usual.
 * An edit of `created`/`modified` only enqueues nothing. Queues have no foreign key: a deleted
 * genre or person keeps its row until the engine has acknowledged the delete.
 */
export async function up(knex: Knex): Promise<void> {
  for (const [queue, id] of [
    ['genre', 'genre_id'],
    ['person', 'person_id'],
  ] as const) {
    await knex.raw(`
      CREATE SEQUENCE content.${queue}_change_seq;

      CREATE TABLE content.${queue}_change (
        ${id} uuid PRIMARY KEY,
        version bigint NOT NULL DEFAULT nextval('content.${queue}_change_seq'),
        changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX ${queue}_change_version_idx ON content.${queue}_change (version);

      -- As content.film_work_rejected (003): documents start-etl --skip-invalid left out.
      CREATE TABLE content.${queue}_rejected (
        ${id} uuid PRIMARY KEY,
        version bigint NOT NULL,
        field text NOT NULL,
        rule text NOT NULL,
        reason text NOT NULL,
        rejected_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );

      -- Sorted and distinct, as enqueue_film_works: ON CONFLICT may touch a row once per
      -- statement, and a fixed lock order keeps concurrent bulk writers from deadlocking.
      CREATE FUNCTION content.enqueue_${queue}s(ids uuid[]) RETURNS void
      LANGUAGE sql AS $$
        INSERT INTO content.${queue}_change AS c (${id})
        SELECT DISTINCT id FROM unnest(ids) AS t(id) WHERE id IS NOT NULL ORDER BY id
        ON CONFLICT (${id}) DO UPDATE
          SET version = excluded.version, changed_at = excluded.changed_at;
      $$;
    `);
  }

  await knex.raw(`
    -- A genre's document is its own row: only genre and description of it are indexed.
    CREATE FUNCTION content.capture_genre_doc() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        PERFORM content.enqueue_genres(ARRAY(SELECT id FROM new_rows));
      ELSIF TG_OP = 'UPDATE' THEN
        PERFORM content.enqueue_genres(ARRAY(
          SELECT n.id FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
          WHERE o.id IS NULL OR (o.genre, o.description) IS DISTINCT FROM (n.genre, n.description)
          UNION ALL
          SELECT o.id FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id)));
      ELSIF TG_OP = 'DELETE' THEN
        PERFORM content.enqueue_genres(ARRAY(SELECT id FROM old_rows));
      ELSE -- TRUNCATE, fired BEFORE, while the rows still exist
        PERFORM content.enqueue_genres(ARRAY(SELECT id FROM content.genre));
      END IF;
      RETURN NULL;
    END $$;

    -- A person's own row reaches the document through its name only.
    CREATE FUNCTION content.capture_person_doc() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        PERFORM content.enqueue_persons(ARRAY(SELECT id FROM new_rows));
      ELSIF TG_OP = 'UPDATE' THEN
        PERFORM content.enqueue_persons(ARRAY(
          SELECT n.id FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
          WHERE o.id IS NULL OR o.name IS DISTINCT FROM n.name
          UNION ALL
          SELECT o.id FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id)));
      ELSIF TG_OP = 'DELETE' THEN
        PERFORM content.enqueue_persons(ARRAY(SELECT id FROM old_rows));
      ELSE
        PERFORM content.enqueue_persons(ARRAY(SELECT id FROM content.person));
      END IF;
      RETURN NULL;
    END $$;

    -- A link is (film, person, job) of a person's films list. A moved link changes the old
    -- person's list and the new one's; an edit of created/modified changes neither.
    -- Missing sides are tested by o.id/n.id, not the whole row (o IS NULL): building a row
    -- value per link cost ~0.15 s more on loaddata's upsert of 130k unchanged links.
    -- Links name each person ~16 times: DISTINCT before the array (a hash, no sort) made
    -- enqueueing 130k links' persons 70 ms instead of 190 ms.
    CREATE FUNCTION content.capture_person_link() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        PERFORM content.enqueue_persons(ARRAY(SELECT DISTINCT person_id FROM new_rows));
      ELSIF TG_OP = 'UPDATE' THEN
        PERFORM content.enqueue_persons(ARRAY(
          SELECT DISTINCT x.person_id
          FROM new_rows n FULL JOIN old_rows o ON o.id = n.id
          CROSS JOIN LATERAL (VALUES (n.person_id), (o.person_id)) AS x(person_id)
          WHERE o.id IS NULL OR n.id IS NULL
             OR (o.film_work_id, o.person_id, o.job) IS DISTINCT FROM (n.film_work_id, n.person_id, n.job)));
      ELSIF TG_OP = 'DELETE' THEN
        PERFORM content.enqueue_persons(ARRAY(SELECT DISTINCT person_id FROM old_rows));
      ELSE
        PERFORM content.enqueue_persons(ARRAY(SELECT DISTINCT person_id FROM content.film_work_person));
      END IF;
      RETURN NULL;
    END $$;
  `);

  // Named <table>_capture_<index>_<op>, beside 002's <table>_capture_<op> film triggers.
  for (const [table, fn, index] of [
    ['genre', 'capture_genre_doc', 'genres'],
    ['person', 'capture_person_doc', 'persons'],
    ['film_work_person', 'capture_person_link', 'persons'],
  ] as const) {
    const name = `${table}_capture_${index}`;
    await knex.raw(`
      CREATE TRIGGER ${name}_ins AFTER INSERT ON content.${table}
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION content.${fn}();
      CREATE TRIGGER ${name}_upd AFTER UPDATE ON content.${table}
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION content.${fn}();
      CREATE TRIGGER ${name}_del AFTER DELETE ON content.${table}
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION content.${fn}();
      CREATE TRIGGER ${name}_trunc BEFORE TRUNCATE ON content.${table}
        FOR EACH STATEMENT EXECUTE FUNCTION content.${fn}();
    `);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const [table, index] of [
    ['genre', 'genres'],
    ['person', 'persons'],
    ['film_work_person', 'persons'],
  ] as const) {
    for (const t of ['ins', 'upd', 'del', 'trunc']) {
      await knex.raw(`DROP TRIGGER IF EXISTS ${table}_capture_${index}_${t} ON content.${table}`);
    }
  }
  await knex.raw(`
    DROP FUNCTION IF EXISTS content.capture_genre_doc(), content.capture_person_doc(),
      content.capture_person_link(), content.enqueue_genres(uuid[]), content.enqueue_persons(uuid[]);
    DROP TABLE IF EXISTS content.genre_change, content.genre_rejected, content.person_change, content.person_rejected;
    DROP SEQUENCE IF EXISTS content.genre_change_seq, content.person_change_seq;
  `);
}
