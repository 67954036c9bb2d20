import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Timeouts } from '../config/types.js';
import { settlesWithin } from '../core/retry.js';
import { migrationSource } from './migrations/index.js';
import { OWN_SCHEMA } from '../catalogue/names.js';

// Return bigint (int8) columns as JS numbers: versions come from a sequence and stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export type Db = Knex;

/*
 * Every wait on PostgreSQL is bounded: opening a connection (connectionTimeoutMillis), waiting
 * for a lock or running a statement (the server's lock_timeout and statement_timeout), and a
 * server that stops answering altogether (the client's query_timeout, a little longer so the
 * server's clearer error wins when it can still send one). TCP keepalive finds dead peers.
 */
export function pgConnectionOptions(databaseUrl: string, t: Timeouts, applicationName = 'movies'): pg.ClientConfig {
  return {
    connectionString: databaseUrl,
    application_name: applicationName,
    connectionTimeoutMillis: t.connectMs,
    statement_timeout: t.statementMs,
    lock_timeout: t.statementMs,
    query_timeout: t.statementMs + 2_000,
    keepAlive: true,
  };
}

/**
 * Ends a client's session within `boundMs`: a server that stopped answering must not keep us
 * waiting, so after the bound the socket is dropped and PostgreSQL notices the closed
 * connection (and releases what the session held).
 */
export async function endClient(client: pg.Client, boundMs: number): Promise<void> {
  if (!(await settlesWithin(boundMs, client.end()))) {
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }
}

export interface DbOptions {
  timeouts: Timeouts;
  poolMax?: number;
  /** Where knex's own warnings go (it writes them to stdout otherwise, breaking --json). */
  log?(message: string): void;
  /** What pg_stat_activity shows for its connections (default "movies"). */
  applicationName?: string;
}

export function createDb(databaseUrl: string, o: DbOptions): Db {
  const log = (m: unknown) => o.log?.(String(m instanceof Error ? m.message : m));
  return knexFactory({
    client: 'pg',
    connection: pgConnectionOptions(databaseUrl, o.timeouts, o.applicationName) as Knex.PgConnectionConfig,
    pool: { min: 0, max: o.poolMax ?? 4 },
    // Waiting for a pooled connection: its holder's statement, then a new connection.
    acquireConnectionTimeout: o.timeouts.statementMs + o.timeouts.connectMs,
    migrations: { migrationSource, schemaName: OWN_SCHEMA, tableName: 'migrations' },
    log: { warn: log, error: log, deprecate: () => undefined, debug: () => undefined },
  });
}
