import { ConnectionError } from '../core/errors.js';
import { withRetry, type RetryPolicy } from '../core/retry.js';
import { isTransientPgError, pgReason } from './errors.js';

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
