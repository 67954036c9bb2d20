import type { ChangeQueue } from '../indexes/spec.js';

export type Wake = 'changed' | 'poll' | 'stopped';

/**
 * One watched index's waits between two of its cycles. The poller (poller.ts) looks at the
 * queue of the target it follows while it waits, and wakes it when that queue changed.
 */
export class Subscription {
  private woken = false;
  private waiter?: () => void;
  /** The target whose queue tells this index's cycles there is work: its live target, set after each cycle. */
  target?: number;
  /** The target's queue as the poller last saw it (queue-fingerprint.ts); undefined until then. */
  seen?: string;

  constructor(
    readonly index: string,
    readonly queue: ChangeQueue,
  ) {}

  /** True while a wait is under way: the poller looks only at the queues of waiting indexes. */
  get waiting(): boolean {
    return this.waiter !== undefined;
  }

  wake(): void {
    this.woken = true;
    this.waiter?.();
  }

  /** Waits for the queue to change (or a change seen since the last wait), at most `ms`, or until `signal` fires. */
  wait(ms: number, signal?: AbortSignal): Promise<Wake> {
    if (signal?.aborted) return Promise.resolve('stopped');
    if (this.woken) {
      this.woken = false;
      return Promise.resolve('changed');
    }
    return new Promise((resolve) => {
      const done = (why: Wake) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiter = undefined;
        if (why === 'changed') this.woken = false;
        resolve(why);
      };
      const onAbort = () => done('stopped');
      const timer = setTimeout(() => done('poll'), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = () => done('changed');
    });
  }
}
