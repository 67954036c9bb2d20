import type { Knex } from 'knex';

/*
 * How this database's changes are captured (one row): by triggers on the catalogue's tables, or
 * from the write-ahead log through a logical replication slot (`movies migrate --capture`).
 *
 * capture.applied_lsn: in logical mode, the end of the last slot transaction whose changes are
 * in the queues, written in the same transaction as those queue rows. The slot is advanced only
 * after that commit, so a process killed in between finds the transaction in the slot again and
 * skips it.
 *
 * capture_row: what logical capture must know of a catalogue row that the log no longer tells
 * when it is deleted or truncated (pgoutput then sends only the key, or nothing): the ends of
 * each link, every film, genre and person id, and hashes of the genre's and person's document
 * columns (an UPDATE message carries no old values, so a rename is told from the hash). Empty in
 * trigger mode.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE movies.capture (
      one boolean PRIMARY KEY DEFAULT true CHECK (one),
      mode text NOT NULL DEFAULT 'triggers' CHECK (mode IN ('triggers', 'logical')),
      slot text NULL,
      publication text NULL,
      applied_lsn pg_lsn NULL,
      applied_at timestamptz NULL,
      since timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    INSERT INTO movies.capture DEFAULT VALUES;

    CREATE TABLE movies.capture_row (
      entity text NOT NULL,
      id uuid NOT NULL,
      film_work_id uuid NULL,
      parent_id uuid NULL,
      name_hash text NULL,
      rest_hash text NULL,
      PRIMARY KEY (entity, id)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE movies.capture_row; DROP TABLE movies.capture');
}
