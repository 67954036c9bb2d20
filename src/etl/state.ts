import pg from 'pg';
import type { Db } from '../db/knex.js';
import { LockedError } from '../errors.js';
import type { Timeouts } from '../config.js';
import { pgConnectionOptions } from '../db/knex.js';
import type { Rejection } from './transformer.js';

/*
 * Marking a film indexed deletes its change row, but only if the row still holds the version
 * the extractor read. A writer that committed since has bumped the version; a writer still in
 * flight holds the row lock and is skipped. Either way the film stays pending for the next run.
 * A film marked indexed loses any rejection recorded for an earlier version.
 */
const MARK_SQL = `
WITH acked AS (
  SELECT c.film_work_id FROM content.film_work_change c
  JOIN unnest(:ids::uuid[], :versions::bigint[]) AS a(id, version)
    ON c.film_work_id = a.id AND c.version = a.version
  FOR UPDATE OF c SKIP LOCKED
), gone AS (
  DELETE FROM content.film_work_change c USING acked WHERE c.film_work_id = acked.film_work_id
  RETURNING c.film_work_id
), cleared AS (
  DELETE FROM content.film_work_rejected r USING gone WHERE r.film_work_id = gone.film_work_id
)
SELECT count(*)::int AS marked FROM gone`;

/* A rejected film leaves pending the same way, and its rejection is recorded with that version. */
const REJECT_SQL = `
WITH r AS (
  SELECT * FROM unnest(:ids::uuid[], :versions::bigint[], :fields::text[], :rules::text[], :reasons::text[])
    AS r(id, version, field, rule, reason)
), hit AS (
  SELECT c.film_work_id FROM content.film_work_change c
  JOIN r ON c.film_work_id = r.id AND c.version = r.version
  FOR UPDATE OF c SKIP LOCKED
), gone AS (
  DELETE FROM content.film_work_change c USING hit WHERE c.film_work_id = hit.film_work_id
  RETURNING c.film_work_id
)
INSERT INTO content.film_work_rejected AS x (film_work_id, version, field, rule, reason)
SELECT r.id, r.version, r.field, r.rule, r.reason FROM r JOIN gone ON gone.film_work_id = r.id
ON CONFLICT (film_work_id) DO UPDATE
  SET version = excluded.version, field = excluded.field, rule = excluded.rule,
      reason = excluded.reason, rejected_at = clock_timestamp()`;

export interface Marked {
  /** Acknowledged films taken out of pending. */
  marked: number;
  /** Rejected films taken out of pending and recorded. */
  rejected: number;
}

async function markAcknowledged(db: Db, acked: Array<{ id: string; version: number }>): Promise<number> {
  const m = await db.raw<{ rows: Array<{ marked: number }> }>(MARK_SQL, {
    ids: acked.map((a) => a.id),
    versions: acked.map((a) => a.version),
  });
  return m.rows[0]?.marked ?? 0;
}

/**
 * Marks a page: acknowledged films indexed, rejected films recorded. One statement in the
 * everyday case; with rejections, both statements in one transaction.
 */
export async function markPage(
  db: Db,
  acked: Array<{ id: string; version: number }>,
  rejected: Rejection[],
): Promise<Marked> {
  if (rejected.length === 0) return { marked: await markAcknowledged(db, acked), rejected: 0 };
  return db.transaction(async (trx) => {
    const marked = await markAcknowledged(trx, acked);
    const r = await trx.raw<{ rowCount: number }>(REJECT_SQL, {
      ids: rejected.map((x) => x.id),
      versions: rejected.map((x) => x.version),
      fields: rejected.map((x) => x.field),
      rules: rejected.map((x) => x.rule),
      reasons: rejected.map((x) => x.reason),
    });
    return { marked, rejected: r.rowCount };
  });
}

/**
 * Makes the films that `idsSql` selects (one column, distinct ids) pending, in one statement,
 * as content.enqueue_film_works() does for the triggers. Returns how many films it enqueued.
 */
export async function enqueueFilms(db: Db, idsSql: string): Promise<number> {
  const r = await db.raw<{ rowCount: number }>(`
    INSERT INTO content.film_work_change AS c (film_work_id)
    SELECT id FROM (${idsSql}) AS ids(id) ORDER BY id
    ON CONFLICT (film_work_id) DO UPDATE SET version = excluded.version, changed_at = excluded.changed_at`);
  return r.rowCount;
}

/** Makes every film pending again (init-es). */
export const enqueueAll = (db: Db) => enqueueFilms(db, 'SELECT id FROM content.film_work');

export interface RunCounts {
  indexed: number;
  deleted: number;
  rejected: number;
  batches: number;
}

export type RunOutcome = 'success' | 'failed' | 'interrupted';

/** Run history kept per database; cron every minute for years must not grow it forever. */
export const KEEP_RUNS = 1000;

export async function startRun(db: Db, index: string): Promise<number> {
  const [row] = await db('content.etl_run').insert({ index_name: index }).returning('id');
  const id = Number((row as { id: number }).id);
  await db('content.etl_run').where('id', '<=', id - KEEP_RUNS).delete();
  return id;
}

export async function finishRun(db: Db, id: number, outcome: RunOutcome, counts: RunCounts, error?: string) {
  await db('content.etl_run')
    .where({ id })
    .update({
      outcome,
      indexed: counts.indexed,
      deleted: counts.deleted,
      rejected: counts.rejected,
      batches: counts.batches,
      error: error ?? null,
      finished_at: db.raw('clock_timestamp()'),
    });
}

const RELEASE_BOUND_MS = 2_000;

// An arbitrary, fixed key: "movies" in ASCII. All start-etl and init-es runs on a database share it.
export const LOCK_KEY = 0x6d6f76696573;

/**
 * Holds the run lock on its own connection, so that it lives exactly as long as the
 * process: a SIGKILLed run releases it when PostgreSQL notices the dead connection.
 */
export class RunLock {
  private lost = false;

  private constructor(
    private client: pg.Client,
    private readonly databaseUrl: string,
    private readonly timeouts: Timeouts,
  ) {
    this.watch(client);
  }

  private watch(client: pg.Client): void {
    // A lost lock connection must not crash the process; ensureHeld() takes the lock again.
    client.on('error', () => (this.lost = true));
    client.on('end', () => (this.lost = true));
  }

  private static async take(databaseUrl: string, timeouts: Timeouts, wait: boolean): Promise<pg.Client> {
    const options = pgConnectionOptions(databaseUrl, timeouts, 'movies-lock');
    // --wait waits for the other run to finish, however long it takes (SIGINT stops it): no statement bound.
    const client = new pg.Client(wait ? { ...options, statement_timeout: 0, lock_timeout: 0, query_timeout: 0 } : options);
    client.on('error', () => undefined);
    await client.connect();
    try {
      if (wait) {
        await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
      } else {
        const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LOCK_KEY]);
        if (!r.rows[0]?.ok) {
          throw new LockedError(
            'another movies run (start-etl or init-es) is in progress on this database; exiting. Use --wait to wait for it.',
          );
        }
      }
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    return client;
  }

  static async acquire(databaseUrl: string, timeouts: Timeouts, wait: boolean): Promise<RunLock> {
    return new RunLock(await RunLock.take(databaseUrl, timeouts, wait), databaseUrl, timeouts);
  }

  /**
   * After an outage the lock's session may be gone. Take the lock again before going on;
   * if another run took it meanwhile, stop (correctness would survive two runs, since marks
   * are versioned, but operators were promised one run at a time).
   */
  async ensureHeld(): Promise<void> {
    if (!this.lost) return;
    await this.client.end().catch(() => undefined);
    this.client = await RunLock.take(this.databaseUrl, this.timeouts, false);
    this.lost = false;
    this.watch(this.client);
  }

  /**
   * Ending the session releases the lock. A server that stopped answering must not keep us
   * waiting: after a short bound the socket is dropped, and PostgreSQL releases the lock when
   * it notices the closed connection.
   */
  async release(): Promise<void> {
    const ended = this.client.end().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), RELEASE_BOUND_MS)));
    if ((await Promise.race([ended, bounded])) === 'late') {
      (this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    }
    clearTimeout(timer);
  }
}

export async function isLockHeld(db: Db): Promise<boolean> {
  const r = await db.raw<{ rows: Array<{ held: boolean }> }>(
    // Advisory locks are per database, but pg_locks lists the whole server's.
    `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND ((classid::bigint << 32) | objid::bigint) = ?) AS held`,
    [LOCK_KEY],
  );
  return r.rows[0]?.held ?? false;
}
