import { ConnectionError } from '../errors.js';
import { withRetry } from '../etl/retry.js';

const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** Errors after which the same statement may succeed: lost connections, server restarts, deadlocks. */
export function isTransientPgError(err: unknown): boolean {
  const e = err as { code?: string; message?: string; name?: string };
  if (!e) return false;
  if (typeof e.code === 'string') {
    if (TRANSIENT_NODE_CODES.has(e.code)) return true;
    if (e.code.startsWith('08') || e.code.startsWith('57P') || e.code === '40001' || e.code === '40P01') return true;
    if (e.code === '53300') return true; // too many connections
  }
  if (e.name === 'KnexTimeoutError') return true;
  return /Connection terminated|connection .*closed|server closed the connection|not queryable/i.test(e.message ?? '');
}

export async function withPgRetry<T>(fn: () => Promise<T>, maxRetryTimeMs: number, log?: (m: string) => void): Promise<T> {
  try {
    return await withRetry(fn, {
      maxRetryTimeMs,
      isRetryable: isTransientPgError,
      onRetry: (e, n, d) => log?.(`PostgreSQL unavailable (${(e as Error).message}); retry ${n} in ${Math.round(d)} ms`),
    });
  } catch (err) {
    if (isTransientPgError(err)) {
      throw new ConnectionError(`PostgreSQL unavailable: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
}
