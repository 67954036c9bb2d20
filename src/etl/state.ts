import pg from 'pg';
import type { Db } from '../db/knex.js';
import { LockedError } from '../errors.js';

/*
 * Marking a film indexed deletes its change row, but only if the row still holds the version
 * the extractor read. A writer that committed since has bumped the version; a writer still in
 * flight holds the row lock and is skipped. Either way the film stays pending for the next run.
 */
const MARK_SQL = `
WITH acked AS (
  SELECT c.film_work_id FROM content.film_work_change c
  JOIN unnest(:ids::uuid[], :versions::bigint[]) AS a(id, version)
    ON c.film_work_id = a.id AND c.version = a.version
  FOR UPDATE OF c SKIP LOCKED
)
DELETE FROM content.film_work_change c USING acked WHERE c.film_work_id = acked.film_work_id`;

export async function markAcknowledged(db: Db, ids: string[], versions: number[]): Promise<number> {
  const r = await db.raw<{ rowCount: number }>(MARK_SQL, { ids, versions });
  return r.rowCount;
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
  batches: number;
}

/** Run history kept per database; cron every minute for years must not grow it forever. */
export const KEEP_RUNS = 1000;

export async function startRun(db: Db, index: string): Promise<number> {
  const [row] = await db('content.etl_run').insert({ index_name: index }).returning('id');
  const id = Number((row as { id: number }).id);
  await db('content.etl_run').where('id', '<=', id - KEEP_RUNS).delete();
  return id;
}

export async function finishRun(db: Db, id: number, outcome: 'success' | 'failed', counts: RunCounts, error?: string) {
  await db('content.etl_run')
    .where({ id })
    .update({
      outcome,
      indexed: counts.indexed,
      deleted: counts.deleted,
      batches: counts.batches,
      error: error ?? null,
      finished_at: db.raw('clock_timestamp()'),
    });
}

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
  ) {
    this.watch(client);
  }

  private watch(client: pg.Client): void {
    // A lost lock connection must not crash the process; ensureHeld() takes the lock again.
    client.on('error', () => (this.lost = true));
    client.on('end', () => (this.lost = true));
  }

  private static async take(databaseUrl: string, wait: boolean): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: databaseUrl, application_name: 'movies-lock' });
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

  static async acquire(databaseUrl: string, wait: boolean): Promise<RunLock> {
    return new RunLock(await RunLock.take(databaseUrl, wait), databaseUrl);
  }

  /**
   * After an outage the lock's session may be gone. Take the lock again before going on;
   * if another run took it meanwhile, stop (correctness would survive two runs, since marks
   * are versioned, but operators were promised one run at a time).
   */
  async ensureHeld(): Promise<void> {
    if (!this.lost) return;
    await this.client.end().catch(() => undefined);
    this.client = await RunLock.take(this.databaseUrl, false);
    this.lost = false;
    this.watch(this.client);
  }

  async release(): Promise<void> {
    if (!this.lost) await this.client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}

export async function isLockHeld(db: Db): Promise<boolean> {
  const r = await db.raw<{ rows: Array<{ held: boolean }> }>(
    `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
       AND ((classid::bigint << 32) | objid::bigint) = ?) AS held`,
    [LOCK_KEY],
  );
  return r.rows[0]?.held ?? false;
}
