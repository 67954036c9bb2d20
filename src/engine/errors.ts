import { ConnectionError, EngineRejectedError } from '../errors.js';
import { withRetry } from '../etl/retry.js';
import { EngineHttpError } from './types.js';

/** Unreachable, 429 or 5xx: the same request may succeed later. */
export const isRetryableEngineError = (e: unknown): boolean => e instanceof EngineHttpError && e.retryable;

/** An engine failure as the user sees it: unreachable (exit 3) or refused (exit 5). */
export function engineFailure(err: EngineHttpError, what: string): ConnectionError | EngineRejectedError {
  return err.statusCode === undefined
    ? new ConnectionError(`search engine unreachable: ${err.message}`, { cause: err })
    : new EngineRejectedError(`${what} failed: ${err.message}`, { cause: err });
}

/** Retries an engine call on unreachable/429/5xx within the budget, then maps the failure. */
export async function withEngineRetry<T>(
  what: string,
  fn: () => Promise<T>,
  maxRetryTimeMs: number,
  log?: (m: string) => void,
): Promise<T> {
  try {
    return await withRetry(fn, {
      maxRetryTimeMs,
      isRetryable: isRetryableEngineError,
      onRetry: (e, n, d) => log?.(`${what}: ${(e as Error).message}; retry ${n} in ${Math.round(d)} ms`),
    });
  } catch (err) {
    throw err instanceof EngineHttpError ? engineFailure(err, what) : err;
  }
}

/** Last resort for engine calls a command made without mapping their errors. */
export async function wrapEngineErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof EngineHttpError ? engineFailure(err, 'search engine request') : err;
  }
}
