import type { Knex } from 'knex';
import { MODELS, type ModelSpec } from './models.js';
import { stage, type UpsertProgress, upsertSql } from './upsert.js';
import { QUEUE_TABLES } from './fast-path.js';
import { QUEUES, type Queue } from '../db/queues.js';
import { enqueueSql } from '../capture/enqueue.js';

/*
 * The fast path's upsert (see fast-path.ts for when it runs): the same statements as the trigger
 * path, with the triggers off, and their work done set-based in the same transaction.
 *
 * Foreign keys. checkReferences proves every staged reference exists in staging or the
 * catalogue. What the RI triggers add is a lock: each checked parent row is held FOR KEY SHARE
 * until commit, so a concurrent DELETE of it waits instead of leaving links to nothing.
 * lockReferencedParents takes those locks, one statement per foreign key, BEFORE the check (a
 * parent deleted in between is then missing from the check, which fails as it should). A parent
 * that is itself in the fixture needs none: the upsert writes it, and it exists at commit
 * whatever a concurrent writer did before.
 *
 * Capture. What migrations 002 and 004's statement-level triggers would enqueue for these
 * INSERT ... ON CONFLICT DO UPDATE statements, where new_rows are the statement's RETURNING rows
 * and old_rows the rows it overwrote, read FOR NO KEY UPDATE just before it (the lock the upsert
 * takes anyway, so that they are still the old rows when it runs):
 *   films:   every loaded film (loaddata enqueues them all anyway, so film_work's own trigger adds
 *            nothing); the film of every written link and the old film of every overwritten one
 *            (capture_film_work_link enqueues both sides of any UPDATE, changed or not); the films
 *            linked, before the links are written, to a genre whose genre or a person whose name
 *            changes (capture_rename).
 *   genres:  written genres that are new, or whose genre or description changed.
 *   persons: written persons that are new or whose name changed; the person of every new
 *            film_work_person link; both persons of an overwritten link whose (film, person, job)
 *            changed.
 * Nothing is enqueued twice for one id and target; nothing more than the triggers would.
 * The ids go through the capture's own enqueue statement (src/capture/enqueue.ts), so the fan-out
 * to targets stays exactly the triggers'.
 */

/*
 * Persons and genres are locked FOR SHARE instead, in id order, as the link capture trigger does
 * since migration 007: a concurrent rename (FOR NO KEY UPDATE) and this load then wait for each
 * other, so the rename's trigger sees the loaded links or the load's films are read only after
 * the rename is committed (see 007 for what that guarantees). Those the fixture holds need none:
 * the upsert writes them, which holds a stronger lock until commit. Every staged link's parent
 * is locked, also those of earlier objects of a pk that the upsert then skips: a few locks too
 * many, never one too few.
 */
const SHARED_PARENTS = new Set(['person', 'genre']);

/** FOR KEY SHARE (films) or FOR SHARE (persons, genres) on every catalogue parent a staged link points to and the fixture does not hold. */
export async function lockReferencedParents(trx: Knex.Transaction): Promise<void> {
  for (const spec of MODELS) {
    for (const [column, parent] of Object.entries(spec.references)) {
      const parentSpec = MODELS.find((m) => m.table === parent)!;
      const lock = SHARED_PARENTS.has(parent) ? 'ORDER BY p.id FOR SHARE OF p' : 'FOR KEY SHARE OF p';
      await trx.raw(
        `WITH locked AS (
           SELECT 1 FROM content.${parent} p
           WHERE p.id IN (SELECT s.${column} FROM ${stage(spec)} s)
             AND NOT EXISTS (SELECT 1 FROM ${stage(parentSpec)} t WHERE t.id = p.id)
           ${lock}
         )
         SELECT count(*) FROM locked`,
      );
    }
  }
}

/** Where the ids one queue's capture would enqueue are gathered during the upsert. */
const capture = (index: Queue['index']) => `movies_capture_${index}`;

/** What the capture triggers keep of a table's old rows, and the condition for "changed" per table. */
const OLD: Record<string, string[] | undefined> = {
  genre: ['genre', 'description'],
  person: ['name'],
  film_work_genre: ['film_work_id'],
  film_work_person: ['film_work_id', 'person_id', 'job'],
};

/** Per table: statements (CTEs over `up`, the RETURNING rows, and `o`, the old rows) that collect ids to enqueue. */
function captures(spec: ModelSpec): string[] {
  const o = `movies_old_${spec.table}`;
  switch (spec.table) {
    case 'genre':
      return [
        `INSERT INTO ${capture('genres')} SELECT n.id FROM up n LEFT JOIN ${o} o ON o.id = n.id
         WHERE o.id IS NULL OR (o.genre, o.description) IS DISTINCT FROM (n.genre, n.description)`,
        // The links as they are before this load writes any (the genre upsert runs first).
        `INSERT INTO ${capture('movies')} SELECT l.film_work_id FROM up n JOIN ${o} o ON o.id = n.id
         JOIN content.film_work_genre l ON l.genre_id = n.id WHERE o.genre IS DISTINCT FROM n.genre`,
      ];
    case 'person':
      return [
        `INSERT INTO ${capture('persons')} SELECT n.id FROM up n LEFT JOIN ${o} o ON o.id = n.id
         WHERE o.id IS NULL OR o.name IS DISTINCT FROM n.name`,
        `INSERT INTO ${capture('movies')} SELECT l.film_work_id FROM up n JOIN ${o} o ON o.id = n.id
         JOIN content.film_work_person l ON l.person_id = n.id WHERE o.name IS DISTINCT FROM n.name`,
      ];
    case 'film_work':
      return [`INSERT INTO ${capture('movies')} SELECT id FROM up`];
    case 'film_work_genre':
      return [
        `INSERT INTO ${capture('movies')} SELECT film_work_id FROM up UNION SELECT film_work_id FROM ${o}`,
      ];
    case 'film_work_person':
      return [
        `INSERT INTO ${capture('movies')} SELECT film_work_id FROM up UNION SELECT film_work_id FROM ${o}`,
        `INSERT INTO ${capture('persons')} SELECT DISTINCT x.person_id
         FROM up n LEFT JOIN ${o} o ON o.id = n.id
         CROSS JOIN LATERAL (VALUES (n.person_id), (o.person_id)) AS x(person_id)
         WHERE x.person_id IS NOT NULL AND (o.id IS NULL
            OR (o.film_work_id, o.person_id, o.job) IS DISTINCT FROM (n.film_work_id, n.person_id, n.job))`,
      ];
    default:
      throw new Error(`no capture for ${spec.table}`);
  }
}

/** Upserts every model with the triggers off, then enqueues what they would have. */
export async function upsertSetBased(trx: Knex.Transaction, progress?: UpsertProgress): Promise<void> {
  for (const q of QUEUES) await trx.raw(`CREATE TEMP TABLE ${capture(q.index)} (id uuid) ON COMMIT DROP`);
  await trx.raw('SET LOCAL session_replication_role = replica');
  for (const spec of MODELS) {
    const old = OLD[spec.table];
    if (old) {
      await trx.raw(
        `CREATE TEMP TABLE movies_old_${spec.table} ON COMMIT DROP AS
         WITH o AS (
           SELECT c.id, ${old.map((c) => `c.${c}`).join(', ')} FROM content.${spec.table} c
           WHERE c.id IN (SELECT id FROM ${stage(spec)})
           FOR NO KEY UPDATE OF c
         ) SELECT * FROM o`,
      );
    }
    const returning = ['id', ...(old ?? [])].join(', ');
    const steps = captures(spec);
    await upsertSql(
      trx,
      spec,
      (insert) =>
        `WITH up AS (${insert} RETURNING ${returning})${steps.map((s, i) => `, c${i} AS (${s})`).join('')} SELECT 1`,
    );
    progress?.upserted(spec);
  }
  progress?.queueing();
  for (const q of QUEUES) await trx.raw(enqueueSql(q.index, `SELECT id FROM ${capture(q.index)}`));
  await lockQueueTargets(trx);
  await trx.raw('SET LOCAL session_replication_role = origin');
}

/*
 * The queues' foreign key to movies.etl_target, set-based, as its RI trigger would have done
 * it after the inserts: every target a queue row points to is locked FOR KEY SHARE (a
 * concurrent `targets drop` waits for this commit), and one deleted meanwhile is an error
 * rather than orphaned rows. Saves one RI trigger call per queued row (100k films + 40k persons
 * per target on the 100k-film fixture).
 */
async function lockQueueTargets(trx: Knex.Transaction): Promise<void> {
  for (const table of QUEUE_TABLES) {
    const r = await trx.raw<{ rows: Array<{ missing: number }> }>(
      `WITH used AS (SELECT DISTINCT target_id AS id FROM movies.${table}),
            locked AS (SELECT t.id FROM movies.etl_target t WHERE t.id IN (SELECT id FROM used) FOR KEY SHARE OF t)
       SELECT (SELECT count(*) FROM used)::int - (SELECT count(*) FROM locked)::int AS missing`,
    );
    if (r.rows[0]!.missing > 0) {
      throw new Error(`movies.${table}: a target was dropped while loaddata queued documents for it; run loaddata again`);
    }
  }
}
