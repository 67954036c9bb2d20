import { ConnectionError, MoviesError, UsageError } from '../core/errors.js';

const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Errors after which the same statement may succeed: lost connections, server restarts,
 * deadlocks, and our own bounds on waiting (statement/lock timeouts, a client-side read timeout
 * when the server stopped answering, no pool connection within the connect bound).
 */
export function isTransientPgError(err: unknown): boolean {
  const e = err as { code?: string; message?: string; name?: string };
  if (!e) return false;
  if (typeof e.code === 'string') {
    if (TRANSIENT_NODE_CODES.has(e.code)) return true;
    if (e.code.startsWith('08') || e.code.startsWith('57P') || e.code === '40001' || e.code === '40P01') return true;
    if (e.code === '53300') return true; // too many connections
    if (e.code === '57014' || e.code === '55P03') return true; // statement_timeout, lock_timeout
  }
  if (e.name === 'KnexTimeoutError') return true;
  return /Connection terminated|connection .*closed|server closed the connection|not queryable|Query read timeout|timeout expired/i.test(
    e.message ?? '',
  );
}

/** What each of our bounds means to a user, by SQLSTATE. */
const TIMEOUT_REASONS: Record<string, string> = {
  '57014': 'a statement took longer than --statement-timeout (is a lock held, or the server overloaded?)',
  '55P03': 'a lock was not granted within --statement-timeout (another session holds it)',
};

/**
 * PostgreSQL's own reason, on one line: knex prefixes the whole SQL text to the server's
 * message ("select … - canceling statement …"), which belongs neither on a terminal nor in a
 * run record.
 */
export function pgReason(err: unknown): string {
  const e = (err ?? {}) as { code?: string; message?: string; name?: string };
  if (typeof e.code === 'string' && TIMEOUT_REASONS[e.code]) return TIMEOUT_REASONS[e.code]!;
  if (/Query read timeout/.test(e.message ?? '')) return 'the server did not answer within --statement-timeout';
  if (e.name === 'KnexTimeoutError') return 'no connection could be opened within the connect timeout';
  const message = String(e.message ?? err);
  const reason = message.includes(' - ') ? message.slice(message.lastIndexOf(' - ') + 3) : message;
  return reason.replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** Turns raw PostgreSQL failures that reach a command into our error classes. */
export async function wrapPgErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toMoviesError(err);
  }
}

/*
 * The URL's sslmode asks for SSL and the server offers none: pg fails at once with this message
 * and no code. Asking again cannot help, so it is a usage error, not an outage or a crash.
 * node-postgres 8 treats sslmode=prefer like require, unlike libpq, hence the hint.
 */
function sslMismatch(err: unknown): UsageError | undefined {
  if (!/The server does not support SSL connections/.test(String((err as { message?: unknown } | null)?.message ?? ''))) return undefined;
  return new UsageError(
    'PostgreSQL does not accept SSL connections, but the database URL asks for SSL (its sslmode; node-postgres treats ' +
      'prefer like require): use sslmode=disable, or enable SSL on the server',
    { cause: err },
  );
}

const URL_SETTING = '--database-url or DATABASE_URL';

/*
 * PostgreSQL refused who or what we connect to: the database does not exist, the role does not
 * (or pg_hba.conf has no entry for it), the password is wrong. Waiting cannot fix any of them,
 * so they are configuration errors (exit 2) with the fix, never retried as outages. The server's
 * reason names the database or role, never the password.
 */
function configurationRefusal(code: string | undefined, reason: string): string | undefined {
  switch (code) {
    case '3D000': {
      const db = /database "([^"]+)"/.exec(reason)?.[1];
      return `${reason}: create it${db ? ` (createdb ${db})` : ''} or fix ${URL_SETTING}`;
    }
    case '28000':
      return /role "[^"]+" does not exist/.test(reason)
        ? `${reason}: create the role (createuser) or fix the user in ${URL_SETTING}`
        : `PostgreSQL refused the connection (${reason}): allow it in pg_hba.conf or fix ${URL_SETTING}`;
    case '28P01':
      return `${reason}: fix the password in ${URL_SETTING} (percent-encoded), or the role's password on the server`;
    default:
      return undefined;
  }
}

export function toMoviesError(err: unknown): unknown {
  if (err instanceof MoviesError) return err;
  const e = err as { code?: string; message?: string };
  const ssl = sslMismatch(err);
  if (ssl) return ssl;
  if (!e || (typeof e.code !== 'string' && !isTransientPgError(err))) return err;
  const reason = pgReason(err);
  if (e.code === '42P01' || e.code === '3F000') {
    return new UsageError(`the database has no movies schema yet (${reason}); run \`movies migrate\` first`);
  }
  const refused = configurationRefusal(e.code, reason);
  if (refused) return new UsageError(refused, { cause: err });
  if (isTransientPgError(err)) return new ConnectionError(`PostgreSQL unavailable: ${reason}`, { cause: err });
  // Any other server error: one line with the server's reason, never the SQL.
  if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) {
    const wrapped = new MoviesError(`PostgreSQL error ${e.code}: ${reason}`, { cause: err });
    return wrapped;
  }
  return err;
}
