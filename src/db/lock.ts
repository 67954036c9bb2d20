import pg from 'pg';
import type { Timeouts } from '../config.js';
import { LockedError } from '../errors.js';
import { pgConnectionOptions, type Db } from './knex.js';
import { settlesWithin } from '../retry.js';

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
    if (!(await settlesWithin(RELEASE_BOUND_MS, this.client.end()))) {
      (this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    }
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
