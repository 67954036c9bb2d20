import { ConnectionError, EngineRejectedError } from '../errors.js';
import { withRetry, type RetryPolicy } from '../retry.js';
import { EngineHttpError } from './types.js';

/** Unreachable, timed out, 429 or 502/503/504: the same request may succeed later. */
export const isRetryableEngineError = (e: unknown): boolean => e instanceof EngineHttpError && e.retryable;

/**
 * An engine failure as the user sees it: an outage (exit 3) when the engine is unreachable, kept
 * answering "busy"/"unavailable" or kept sending answers that cannot be read past the budget,
 * otherwise a refusal (exit 5).
 */
export function engineFailure(err: EngineHttpError, what: string): ConnectionError | EngineRejectedError {
  if (err.malformed) {
    return new ConnectionError(`search engine sent malformed answers past --max-retry-time (${what}): ${err.message}`, { cause: err });
  }
  if (err.statusCode === undefined) return new ConnectionError(`search engine unreachable: ${err.message}`, { cause: err });
  if (err.retryable) {
    return new ConnectionError(`search engine unavailable past --max-retry-time (${what}): ${err.message}`, { cause: err });
  }
  return new EngineRejectedError(`${what} failed: ${err.message}`, { cause: err });
}

/** Retries an engine call on unreachable/429/5xx within the policy, then maps the failure. */
export async function withEngineRetry<T>(what: string, fn: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  try {
    return await withRetry(fn, policy, { isRetryable: isRetryableEngineError, describe: (e) => `${what}: ${(e as Error).message}` });
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
