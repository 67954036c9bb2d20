import { ConnectionError } from '../errors.js';
import { withRetry, type RetryPolicy } from '../retry.js';
import { pgReason } from './errors.js';

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

/** Retries transient PostgreSQL failures within the policy; then exit 3 with PostgreSQL's own reason. */
export async function withPgRetry<T>(fn: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  try {
    return await withRetry(fn, policy, {
      isRetryable: isTransientPgError,
      describe: (e) => `PostgreSQL unavailable (${pgReason(e)})`,
    });
  } catch (err) {
    if (isTransientPgError(err)) {
      throw new ConnectionError(`PostgreSQL unavailable: ${pgReason(err)}`, { cause: err });
    }
    throw err;
  }
}
