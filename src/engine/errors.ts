import { ConnectionError, EngineRejectedError } from '../core/errors.js';
import { withRetry, type RetryPolicy } from '../core/retry.js';
import { EngineHttpError } from './types.js';

/** Unreachable, timed out, 429 or 502/503/504: the same request may succeed later. */
export const isRetryableEngineError = (e: unknown): boolean => e instanceof EngineHttpError && e.retryable;

/*
 * The flood-stage disk watermark's block (index.blocks.read_only_allow_delete): the engine
 * answers 429 cluster_block_exception to every write to the index, the request's or each bulk
 * item's, until disk is freed (and, on older versions, the block cleared). Retried like any 429,
 * since a newer engine lifts it by itself; but "HTTP 429" alone tells no one the disk is full.
 */
export function floodStageAdvice(errorType: string | undefined, reason: string): string | undefined {
  if (errorType !== 'cluster_block_exception' || !/read[-_ ]only[-_ ]allow[-_ ]delete|flood[- ]stage/i.test(reason)) return undefined;
  const index = /index \[([^\]]+)\]/.exec(reason)?.[1] ?? '<index>';
  return (
    `the engine's disk is full: index ${index} is blocked by the flood-stage disk watermark ` +
    `(index.blocks.read_only_allow_delete). Free disk on the engine's data nodes, then clear the block: ` +
    `PUT ${index}/_settings {"index.blocks.read_only_allow_delete": null}`
  );
}

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
    const flood = floodStageAdvice(err.errorType, err.message);
    return new ConnectionError(
      `search engine unavailable past --max-retry-time (${what}): ${flood ? `HTTP ${err.statusCode}: ${flood}` : err.message}`,
      { cause: err },
    );
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
