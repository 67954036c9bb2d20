import type { Db } from './knex.js';
import type { ChangeQueue } from '../indexes/spec.js';

/** A document the ETL leaves out, recorded with the version it had (start-etl --skip-invalid). */
export interface Rejection {
  id: string;
  version: number;
  field: string;
  rule: string;
  reason: string;
}

/*
 * Every statement here works on one target's rows (movies.etl_target, migration 005): what
 * one index has acknowledged says nothing about another.
 *
 * Marking a document indexed deletes its change row, but only if the row still holds the version
 * the extractor read. A writer that committed since has bumped the version; a writer still in
 * flight holds the row lock and is skipped. Either way the document stays pending for the next
 * run. A document marked indexed loses any rejection recorded for an earlier version.
 */
const markSql = (q: ChangeQueue) => `
WITH acked AS (
  SELECT c.${q.idColumn} FROM movies.${q.table} c
  JOIN unnest(:ids::uuid[], :versions::bigint[]) AS a(id, version)
    ON c.${q.idColumn} = a.id AND c.version = a.version
  WHERE c.target_id = :target
  FOR UPDATE OF c SKIP LOCKED
), gone AS (
  DELETE FROM movies.${q.table} c USING acked WHERE c.target_id = :target AND c.${q.idColumn} = acked.${q.idColumn}
  RETURNING c.${q.idColumn}
), cleared AS (
  DELETE FROM movies.${q.rejectedTable} r USING gone WHERE r.${q.idColumn} = gone.${q.idColumn}
)
SELECT count(*)::int AS marked FROM gone`;

/* A rejected document leaves pending the same way, and its rejection is recorded with that version. */
const rejectSql = (q: ChangeQueue) => `
WITH r AS (
  SELECT * FROM unnest(:ids::uuid[], :versions::bigint[], :fields::text[], :rules::text[], :reasons::text[])
    AS r(id, version, field, rule, reason)
), hit AS (
  SELECT c.${q.idColumn} FROM movies.${q.table} c
  JOIN r ON c.${q.idColumn} = r.id AND c.version = r.version
  WHERE c.target_id = :target
  FOR UPDATE OF c SKIP LOCKED
), gone AS (
  DELETE FROM movies.${q.table} c USING hit WHERE c.target_id = :target AND c.${q.idColumn} = hit.${q.idColumn}
  RETURNING c.${q.idColumn}
)
INSERT INTO movies.${q.rejectedTable} AS x (${q.idColumn}, version, field, rule, reason)
SELECT r.id, r.version, r.field, r.rule, r.reason FROM r JOIN gone ON gone.${q.idColumn} = r.id
ON CONFLICT (${q.idColumn}) DO UPDATE
  SET version = excluded.version, field = excluded.field, rule = excluded.rule,
      reason = excluded.reason, rejected_at = clock_timestamp()`;

/*
 * Plans that hold without statistics. A queue that has just grown (init-es's enqueue, a bulk
 * load) or a catalogue never analyzed (autovacuum off) makes the planner guess a few rows per
 * target. It then hashes all of a target's pending rows to mark a page, and hashes the whole
 * person table to build one (measured at 100k films, no statistics: marking 500 rows hashed
 * 100,000 in 34-72 ms against 3-5 ms by the primary key; the film page hashed all 40,000 persons
 * per page). These statements touch a page's rows by key, so nested loops over the indexes are
 * the right plan whatever the estimates; the settings hold for their transaction only.
 */
export const KEYED_JOINS = `SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`;

export interface Marked {
  /** Acknowledged documents taken out of pending. */
  marked: number;
  /** Rejected documents taken out of pending and recorded. */
  rejected: number;
}

async function markAcknowledged(db: Db, q: ChangeQueue, target: number, acked: Array<{ id: string; version: number }>): Promise<number> {
  const m = await db.raw<{ rows: Array<{ marked: number }> }>(markSql(q), {
    target,
    ids: acked.map((a) => a.id),
    versions: acked.map((a) => a.version),
  });
  return m.rows[0]?.marked ?? 0;
}

/**
 * Marks a page: acknowledged documents indexed, rejected ones recorded, in one transaction
 * with the plan settings (KEYED_JOINS).
 */
export async function markPage(
  db: Db,
  q: ChangeQueue,
  target: number,
  acked: Array<{ id: string; version: number }>,
  rejected: Rejection[],
): Promise<Marked> {
  return db.transaction(async (trx) => {
    await trx.raw(KEYED_JOINS);
    const marked = await markAcknowledged(trx, q, target, acked);
    if (rejected.length === 0) return { marked, rejected: 0 };
    const r = await trx.raw<{ rowCount: number }>(rejectSql(q), {
      target,
      ids: rejected.map((x) => x.id),
      versions: rejected.map((x) => x.version),
      fields: rejected.map((x) => x.field),
      rules: rejected.map((x) => x.rule),
      reasons: rejected.map((x) => x.reason),
    });
    return { marked, rejected: r.rowCount };
  });
}

/** Whose pending documents: one target, or every target of an index (as the capture triggers do). */
export type EnqueueFor = { target: number } | { index: string };

/**
 * Makes the documents that `idsSql` selects (one column, distinct ids) pending, in one
 * statement. Returns how many (document, target) pairs it enqueued.
 */
export async function enqueue(db: Db, q: ChangeQueue, idsSql: string, to: EnqueueFor): Promise<number> {
  const r = await db.raw<{ rowCount: number }>(
    `
    INSERT INTO movies.${q.table} AS c (target_id, ${q.idColumn})
    SELECT t.id, ids.id FROM movies.etl_target t CROSS JOIN (${idsSql}) AS ids(id)
    WHERE ${'target' in to ? 't.id = ?' : 't.index_name = ?'}
    ORDER BY 1, 2
    ON CONFLICT (target_id, ${q.idColumn}) DO UPDATE SET version = excluded.version, changed_at = excluded.changed_at`,
    ['target' in to ? to.target : to.index],
  );
  return r.rowCount;
}

/**
 * Makes every document `idsSql` selects pending for one target, in committed chunks of `chunk`
 * ids in id order. One statement for a whole catalogue would hold a queue row lock on each
 * document until it commits, and a writer editing any of them waits for it (measured: an edit
 * waited 0.6–2.2 s while one statement queued 100k films); a chunk holds them for milliseconds.
 * Returns how many it enqueued.
 */
export async function enqueueAllInChunks(
  db: Db,
  q: ChangeQueue,
  idsSql: string,
  target: number,
  run: <T>(fn: () => Promise<T>) => Promise<T>,
  chunk = 5_000,
  /** After each chunk, with the documents enqueued so far (for progress). */
  enqueued?: (sofar: number) => void,
): Promise<number> {
  let after = '00000000-0000-0000-0000-000000000000';
  let total = 0;
  for (;;) {
    const page = `SELECT id FROM (${idsSql}) AS a(id) WHERE id > ?::uuid ORDER BY id LIMIT ${Math.trunc(chunk)}`;
    const r = await run(() =>
      db.raw<{ rows: Array<{ last: string | null; n: number }> }>(
        `WITH ins AS (
           INSERT INTO movies.${q.table} AS c (target_id, ${q.idColumn})
           SELECT ?, id FROM (${page}) AS p
           ON CONFLICT (target_id, ${q.idColumn}) DO UPDATE SET version = excluded.version, changed_at = excluded.changed_at
           RETURNING ${q.idColumn} AS id
         )
         SELECT max(id::text COLLATE "C") AS last, count(*)::int AS n FROM ins`,
        // uuid order is byte order, which the lowercase text form keeps under the C collation (PostgreSQL 15 has no max(uuid)).
        [target, after],
      ),
    );
    const { last, n } = r.rows[0]!;
    total += n;
    enqueued?.(total);
    if (n < chunk || !last) return total;
    after = last;
  }
}

/** One target's pending documents and the age of its oldest pending change (the lag), in seconds. */
export async function pendingStats(db: Db, q: ChangeQueue, target: number): Promise<{ pending: number; lagSeconds: number }> {
  const r = await db.raw<{ rows: Array<{ pending: number; lag: number | null }> }>(
    `SELECT count(*)::int AS pending, extract(epoch FROM clock_timestamp() - min(changed_at))::float8 AS lag
     FROM movies.${q.table} WHERE target_id = ?`,
    [target],
  );
  return { pending: r.rows[0]?.pending ?? 0, lagSeconds: Math.max(0, r.rows[0]?.lag ?? 0) };
}

/**
 * Makes the documents `ids` pending for one target (`movies verify --repair`), with a fresh
 * version each (a watch sees the queue change). A document whose source row is gone is then
 * indexed as a delete. Returns how many it enqueued.
 */
export async function enqueueIds(db: Db, q: ChangeQueue, target: number, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await db.raw<{ rows: Array<{ n: number }> }>(
    `WITH queued AS (
       INSERT INTO movies.${q.table} AS c (target_id, ${q.idColumn})
       SELECT :target, id FROM (SELECT DISTINCT unnest(:ids::uuid[]) AS id) d ORDER BY 2
       ON CONFLICT (target_id, ${q.idColumn}) DO UPDATE SET version = excluded.version, changed_at = excluded.changed_at
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM queued`,
    { target, ids },
  );
  return r.rows[0]?.n ?? 0;
}
