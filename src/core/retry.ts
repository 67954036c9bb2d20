import { InterruptedError } from './errors.js';

/**
 * The one retry policy of a command: its budget (--max-retry-time), where retries are logged,
 * and the stop signal (SIGINT/SIGTERM) that cuts any wait short. Built once at the edge and
 * handed down to every layer that retries.
 */
export interface RetryPolicy {
  /** Total time budget for retries of one operation; 0 means try once. */
  readonly maxRetryTimeMs: number;
  readonly signal?: AbortSignal;
  log?(message: string): void;
  /** Called before each retry, with its log line: a watch reports itself unhealthy while one is under way. */
  onRetry?(message: string): void;
}

export interface RetryOptions {
  isRetryable(err: unknown): boolean;
  /** How a failed attempt is described in the retry log line. */
  describe(err: unknown): string;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injected for tests. */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
  now?(): number;
}

export function interrupted(signal: AbortSignal): InterruptedError {
  return new InterruptedError(
    `interrupted (${String(signal.reason ?? 'signal')}); acknowledged pages were marked, the rest stays pending`,
  );
}

/** Throws InterruptedError if the policy's signal has fired. */
export function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw interrupted(signal);
}

/** Resolves after `ms`, or rejects with InterruptedError as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(interrupted(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(interrupted(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential backoff with full jitter, bounded by the policy's budget and cut short by its signal. */
export async function withRetry<T>(fn: () => Promise<T>, policy: RetryPolicy, opts: RetryOptions): Promise<T> {
  const wait = opts.sleep ?? sleep;
  const now = opts.now ?? Date.now;
  const base = opts.baseDelayMs ?? 200;
  const cap = opts.maxDelayMs ?? 10_000;
  const deadline = now() + policy.maxRetryTimeMs;
  for (let attempt = 1; ; attempt++) {
    throwIfStopped(policy.signal);
    try {
      return await fn();
    } catch (err) {
      const remaining = deadline - now();
      if (!opts.isRetryable(err) || remaining <= 0) throw err;
      throwIfStopped(policy.signal);
      const delay = Math.min(remaining, Math.random() * Math.min(cap, base * 2 ** (attempt - 1)));
      const line = `${opts.describe(err)}; retry ${attempt} in ${Math.round(delay)} ms`;
      policy.onRetry?.(line);
      policy.log?.(line);
      await wait(delay, policy.signal);
    }
  }
}

/**
 * Waits for `work` at most `ms`; true when it settled in time. For waits that cannot be
 * aborted (a request or statement already sent) but must not keep a stopping command alive.
 */
export async function settlesWithin(ms: number, work: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const done = work.then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([done, late]);
  } finally {
    clearTimeout(timer);
  }
}
