import { settlesWithin } from '../core/retry.js';

/**
 * The bulk requests of a run in flight: at most `limit` at once. The first failure is kept and
 * stops new work; settle() waits for the rest, or only briefly when the run is stopping.
 */
export class Inflight {
  private readonly tasks = new Set<Promise<void>>();
  private failed = false;
  failure: unknown;

  constructor(private readonly limit: number) {}

  /** Waits for a free slot; false once any task has failed. */
  async slot(): Promise<boolean> {
    while (this.tasks.size >= this.limit) await Promise.race(this.tasks);
    return !this.failed;
  }

  start(work: () => Promise<void>): void {
    const task: Promise<void> = work()
      .catch((err: unknown) => {
        if (!this.failed) this.failure = err;
        this.failed = true;
      })
      .finally(() => this.tasks.delete(task));
    this.tasks.add(task);
  }

  /** Records a failure from outside the tasks (the page loop), unless one is already kept. */
  fail(err: unknown): void {
    if (!this.failed) this.failure = err;
    this.failed = true;
  }

  get hasFailed(): boolean {
    return this.failed;
  }

  /** Every task settled (or `boundMs` passed: then false). */
  async settle(boundMs?: number): Promise<boolean> {
    const all = Promise.all(this.tasks);
    if (boundMs === undefined) {
      await all;
      return true;
    }
    return settlesWithin(boundMs, all);
  }
}
