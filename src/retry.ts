export interface RetryOptions {
  /** Total time budget for retries; 0 means try once. */
  maxRetryTimeMs: number;
  isRetryable(err: unknown): boolean;
  onRetry?(err: unknown, attempt: number, delayMs: number): void;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injected for tests. */
  sleep?(ms: number): Promise<void>;
  now?(): number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter, bounded by a total time budget. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? Date.now;
  const base = opts.baseDelayMs ?? 200;
  const cap = opts.maxDelayMs ?? 10_000;
  const deadline = now() + opts.maxRetryTimeMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const remaining = deadline - now();
      if (!opts.isRetryable(err) || remaining <= 0) throw err;
      const delay = Math.min(remaining, Math.random() * Math.min(cap, base * 2 ** (attempt - 1)));
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}
