import type { Knex } from 'knex';
import { linkCaptureFunction } from './002_change_capture.js';

/*
 * A rename racing a new link. A film's document carries the names of its persons and genres.
 * A rename queues the films linked to the renamed row (002's capture_rename), but it looks for
 * those links in its own snapshot. Before this migration, nothing made a new link and a rename
 * of what it points to wait for each other: the link's foreign key check holds only FOR KEY
 * SHARE on the person, which a rename's FOR NO KEY UPDATE does not conflict with. So with the
 * link's transaction A and the rename's B both in flight, B did not see A's link and queued
 * nothing for the film; A committed, start-etl read the film with the old name and marked it
 * indexed; B committed, and the index kept the old name for good.
 *
 * Now the link capture trigger (INSERT and UPDATE, film_work_person and film_work_genre) takes
 * FOR SHARE on the persons or genres its new rows point to, in id order (a fixed lock order
 * between bulk writers), before it queues anything. FOR SHARE conflicts with any UPDATE of the
 * row, so whichever of A and B comes second waits for the other's commit:
 *   link first: B's UPDATE waits for A's commit. Its trigger then runs its query with a new
 *     snapshot (READ COMMITTED takes one per statement), sees the link and queues the film.
 *   rename first: A's trigger waits for B's commit, so the film can be read only after the
 *     rename is committed. A REPEATABLE READ or SERIALIZABLE link writer gets a serialization
 *     failure (40001) instead, and nothing is written.
 * That holds for renames in READ COMMITTED (Django's default), whatever the link writer's level.
 * It does NOT hold for a rename in REPEATABLE READ or SERIALIZABLE whose snapshot predates the
 * link's commit: its UPDATE still waits, but a row that was only locked raises no serialization
 * failure, and its trigger's query reads the transaction's snapshot, which lacks the link, so the
 * film is not queued (checked by hand on PostgreSQL 15). Covering that would take a row per
 * person that the link writer updates, not just locks, which would serialize every writer
 * linking the same person; not done.
 *
 * A genre rename was safe before this migration already: genre.genre is UNIQUE, so changing it
 * is a key update (FOR UPDATE), which conflicts with the foreign key's FOR KEY SHARE. The lock
 * on genres keeps the guarantee should that index go (test/integration/capture-race.test.ts).
 *
 * The price: an UPDATE of a person or genre (any column) waits for the in-flight transactions
 * that linked to it (loaddata's included, for its whole load), and a link waits for an in-flight
 * update of its person or genre. A transaction that holds a film's queue row (it edited the film)
 * and then links a person while another renames that person (already linked to the film) now
 * deadlocks; PostgreSQL detects it after deadlock_timeout and fails one of the two (40P01, seen
 * on the rename) instead of losing the rename. CPU: the link capture function took 57 -> 120 ms
 * (medians of 3) for the 180k links of a 20k-film loaddata, 4 -> 12 ms for the shared fixture's
 * 8k; a single-row link INSERT 0.66 -> 0.73 ms. loaddata's fast path takes the same locks itself
 * (src/django/fast-upsert.ts).
 */

const LOCK_PARENTS = `
    -- 007: the persons or genres the written links point to, FOR SHARE, in id order.
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
      IF TG_TABLE_NAME = 'film_work_person' THEN
        PERFORM 1 FROM content.person p WHERE p.id IN (SELECT person_id FROM new_rows) ORDER BY p.id FOR SHARE OF p;
      ELSE
        PERFORM 1 FROM content.genre g WHERE g.id IN (SELECT genre_id FROM new_rows) ORDER BY g.id FOR SHARE OF g;
      END IF;
    END IF;`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(linkCaptureFunction(LOCK_PARENTS));
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(linkCaptureFunction(''));
}
