import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Timeouts } from '../config/types.js';
import { LockedError } from '../core/errors.js';
import { endClient, pgConnectionOptions, type Db } from './knex.js';

const RELEASE_BOUND_MS = 2_000;

/** An advisory lock: its 64-bit key, and what holding it means, for the message to whoever finds it taken. */
export interface LockName {
  key: string;
  held: string;
}

const NAMESPACE = { run: 0x6d6f76n, build: 0x6d6f62n, watch: 0x6d6f77n } as const;

/**
 * Held (for one transaction) by whoever moves logical capture's slot into the queues: one
 * collector at a time per database. An advisory lock, not a row lock, so that a collect that
 * finds nothing writes nothing (a row lock would write WAL and flush it at every look).
 */
export const COLLECT_LOCK: LockName = { key: String(0x6d6f63n << 32n), held: 'another movies process is moving the capture slot into the queues' };

/*
 * One lock per alias on a cluster and per purpose: `run` is held by a start-etl writing
 * through the alias and by init-es or rollback while they move it; `build` by an init-es
 * building a new index for it; `watch` by a start-etl --watch for as long as it runs (it takes
 * `run` only for each cycle, so that init-es can move the alias between two cycles). Runs on other aliases or clusters do not wait for each other.
 * The key is a namespace in the high bits and 32 bits of a hash of cluster and alias.
 */
export function aliasLock(purpose: keyof typeof NAMESPACE, cluster: string, alias: string): LockName {
  const h = BigInt(createHash('sha1').update(`${cluster}/${alias}`).digest().readUInt32BE(0));
  const held = {
    run: `another movies run (start-etl, or init-es or rollback moving the alias) is writing to "${alias}" on this cluster`,
    build: `another init-es is rebuilding "${alias}" on this cluster`,
    watch: `a start-etl --watch keeps "${alias}" in step on this cluster (stop it to run one-shot runs)`,
  }[purpose];
  return { key: String((NAMESPACE[purpose] << 32n) | h), held };
}

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
    private readonly name: LockName,
  ) {
    this.watch(client);
  }

  private watch(client: pg.Client): void {
    // A lost lock connection must not crash the process; ensureHeld() takes the lock again.
    client.on('error', () => (this.lost = true));
    client.on('end', () => (this.lost = true));
  }

  private static async take(databaseUrl: string, timeouts: Timeouts, wait: boolean, name: LockName): Promise<pg.Client> {
    const options = pgConnectionOptions(databaseUrl, timeouts, 'movies-lock');
    // --wait waits for the other run to finish, however long it takes (SIGINT stops it): no statement bound.
    const client = new pg.Client(wait ? { ...options, statement_timeout: 0, lock_timeout: 0, query_timeout: 0 } : options);
    client.on('error', () => undefined);
    await client.connect();
    try {
      if (wait) {
        await client.query('SELECT pg_advisory_lock($1::bigint)', [name.key]);
      } else {
        const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [name.key]);
        if (!r.rows[0]?.ok) throw new LockedError(`${name.held}; exiting. Use --wait to wait for it.`);
      }
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    return client;
  }

  static async acquire(databaseUrl: string, timeouts: Timeouts, wait: boolean, name: LockName): Promise<RunLock> {
    return new RunLock(await RunLock.take(databaseUrl, timeouts, wait, name), databaseUrl, timeouts, name);
  }

  /**
   * After an outage the lock's session may be gone. Take the lock again before going on;
   * if another run took it meanwhile, stop (correctness would survive two runs, since marks
   * are versioned, but operators were promised one run at a time).
   */
  async ensureHeld(): Promise<void> {
    if (!this.lost) return;
    await this.client.end().catch(() => undefined);
    this.client = await RunLock.take(this.databaseUrl, this.timeouts, false, this.name);
    this.lost = false;
    this.watch(this.client);
  }

  /**
   * Ending the session releases the lock. A server that stopped answering must not keep us
   * waiting: after a short bound the socket is dropped, and PostgreSQL releases the lock when
   * it notices the closed connection.
   */
  async release(): Promise<void> {
    await endClient(this.client, RELEASE_BOUND_MS);
  }
}

export async function isLockHeld(db: Db, name: LockName): Promise<boolean> {
  const r = await db.raw<{ rows: Array<{ held: boolean }> }>(
    // Advisory locks are per database, but pg_locks lists the whole server's.
    `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND ((classid::bigint << 32) | objid::bigint) = ?::bigint) AS held`,
    [name.key],
  );
  return r.rows[0]?.held ?? false;
}

/** A lock taken on a LockSession, until released or the session's connection is lost. */
export interface HeldLock {
  /** Throws if the session's connection was lost (PostgreSQL released the lock) and another run took it meanwhile. */
  ensureHeld(): Promise<void>;
  release(): Promise<void>;
}

/**
 * Advisory locks taken and released many times on one long-lived connection: a watch loop
 * takes an alias's run lock for each cycle, and a connection per cycle would cost more than
 * the cycle. A lost connection is replaced on the next take.
 */
export class LockSession {
  private client?: pg.Client;
  private dead = true;

  constructor(
    private readonly databaseUrl: string,
    private readonly timeouts: Timeouts,
  ) {}

  private async connection(): Promise<pg.Client> {
    if (this.client && !this.dead) return this.client;
    await this.client?.end().catch(() => undefined);
    const client = new pg.Client(pgConnectionOptions(this.databaseUrl, this.timeouts, 'movies-lock'));
    client.on('error', () => (this.dead = true));
    client.on('end', () => (this.dead = true));
    await client.connect();
    this.client = client;
    this.dead = false;
    return client;
  }

  /** Takes the lock now or throws LockedError. */
  async take(name: LockName): Promise<HeldLock> {
    const client = await this.connection();
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [name.key]);
    if (!r.rows[0]?.ok) throw new LockedError(name.held);
    return {
      ensureHeld: async () => {
        if (this.client !== client || this.dead) await this.take(name);
      },
      // On whichever connection holds it now (ensureHeld may have taken it again on a new one).
      release: async () => {
        if (this.client && !this.dead) await this.client.query('SELECT pg_advisory_unlock($1::bigint)', [name.key]).catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    if (this.client) await endClient(this.client, RELEASE_BOUND_MS);
  }
}
