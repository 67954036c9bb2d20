import type { QueueOfTarget } from '../db/queue-fingerprint.js';
import type { ChangeQueue } from '../indexes/spec.js';
import { settlesWithin, sleep } from '../core/retry.js';
import { Subscription } from './subscription.js';

/**
 * How often a waiting watch looks at its queues. Each look is one statement for every waiting
 * index (queue-fingerprint.ts); it adds at most this much to commit-to-searchable latency.
 */
export const WAKE_POLL_MS = 50;
/**
 * After QUIET_AFTER_MS without a change anywhere, the looks slow down to one every IDLE_POLL_MS
 * until the next change: an idle watch then costs a look 5 times a second, not 20 (measured:
 * 4.3 % of one core idle at 20 looks/s, knex and node-pg included).
 */
export const IDLE_POLL_MS = 250;
const QUIET_AFTER_MS = 2_000;
const STOP_BOUND_MS = 2_000;

/**
 * Wakes a watch's indexes when their queues change, by looking at them (one statement every
 * WAKE_POLL_MS while an index waits, every IDLE_POLL_MS once all has been quiet) instead of a
 * NOTIFY from the capture triggers: PostgreSQL serialises the commits of all notifying
 * transactions on one cluster-wide lock, which took writers to 0.05–0.10× of their throughput
 * without capture while a watch ran (issue 23's pgbench figures). Writers now pay nothing in
 * their transactions for a watch (BENCHMARKS.md, bench:writers).
 *
 * An index is woken when its target's queue differs from the one seen at its previous wake,
 * which was taken before the cycle that followed: so a cycle that did work is followed by one
 * more, which takes what committed while the first one ran (or finds nothing, and the queue
 * then stays as it saw it). A look that fails (PostgreSQL down) wakes nobody: the cycles report
 * the outage, and each index's poll interval still bounds its wait.
 */
export class ChangePoller {
  private readonly subscriptions = new Set<Subscription>();
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;
  private lastChange = performance.now();

  /** `read` is queueFingerprints (src/db/queue-fingerprint.ts) on the watch's pool. */
  constructor(
    private readonly read: (of: readonly QueueOfTarget[]) => Promise<string[]>,
    private readonly everyMs = WAKE_POLL_MS,
    private readonly idleMs = IDLE_POLL_MS,
  ) {}

  subscribe(index: string, queue: ChangeQueue): Subscription {
    const sub = new Subscription(index, queue);
    this.subscriptions.add(sub);
    return sub;
  }

  start(): void {
    this.loop ??= (async () => {
      while (!this.stopping.signal.aborted) {
        await this.look();
        const quiet = performance.now() - this.lastChange > QUIET_AFTER_MS;
        await sleep(quiet ? this.idleMs : this.everyMs, this.stopping.signal).catch(() => undefined);
      }
    })();
  }

  /** One look at the queues of the waiting indexes that follow a target. */
  private async look(): Promise<void> {
    const due = [...this.subscriptions].filter((s): s is Subscription & { target: number } => s.waiting && s.target !== undefined);
    if (due.length === 0) return;
    let now: string[];
    try {
      now = await this.read(due);
    } catch {
      return;
    }
    due.forEach((s, i) => {
      const fingerprint = `${s.target}/${now[i]}`;
      if (fingerprint === s.seen) return;
      s.seen = fingerprint;
      this.lastChange = performance.now();
      s.wake();
    });
  }

  async close(): Promise<void> {
    this.stopping.abort();
    if (this.loop) await settlesWithin(STOP_BOUND_MS, this.loop);
  }
}
