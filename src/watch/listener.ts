import pg from 'pg';
import type { Timeouts } from '../config.js';
import { endClient, pgConnectionOptions } from '../db/knex.js';
import { CHANNEL } from '../db/queues.js';

const CLOSE_BOUND_MS = 2_000;
/** Reconnecting after the connection is lost: 0.5 s, doubling, at most this. */
const MAX_BACKOFF_MS = 30_000;

export type Wake = 'notified' | 'poll' | 'stopped';

/**
 * LISTENs for the capture triggers' notifications on a connection of its own, and reconnects
 * (and LISTENs again) for as long as it runs when that connection is lost. A notification is
 * only a reason to look at the queues: one that arrives while nobody waits is kept as a flag,
 * and every (re)connection sets that flag too, since notifications sent while it was down
 * are lost for good. Each watched index waits on a subscription of its own (its cycles run on
 * their own), woken by the notifications that name it (the payload is the index's name).
 */
export class ChangeListener {
  private client?: pg.Client;
  private readonly subscriptions = new Set<Subscription>();
  private stopped = false;
  private backoff = 0;
  /** True while LISTEN is in effect. */
  listening = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly timeouts: Timeouts,
    private readonly log: (message: string) => void,
  ) {}

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    while (!this.stopped) {
      const client = new pg.Client(pgConnectionOptions(this.databaseUrl, this.timeouts, 'movies-listen'));
      const lost = () => {
        if (this.client !== client) return;
        this.client = undefined;
        if (this.listening) this.log('lost the PostgreSQL connection that listens for changes; reconnecting (polling meanwhile)');
        this.listening = false;
        void client.end().catch(() => undefined);
        if (!this.stopped) void this.connect();
      };
      client.on('error', lost);
      client.on('end', lost);
      client.on('notification', (n) => this.wake(n.payload));
      try {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
        this.client = client;
        this.listening = true;
        this.backoff = 0;
        this.wake();
        return;
      } catch {
        client.removeAllListeners('end');
        await client.end().catch(() => undefined);
        this.backoff = Math.min(MAX_BACKOFF_MS, Math.max(500, this.backoff * 2));
        await new Promise((r) => setTimeout(r, this.backoff));
      }
    }
  }

  /** Wakes the subscriptions of the index named, or every one (a reconnection, or no name). */
  private wake(index?: string): void {
    for (const sub of this.subscriptions) if (!index || sub.index === index) sub.wake();
  }

  /** A subscription for one index's waits (woken by every (re)connection, like all of them). */
  subscribe(index: string): Subscription {
    const sub = new Subscription(index);
    this.subscriptions.add(sub);
    return sub;
  }

  async close(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = undefined;
    this.listening = false;
    if (client) await endClient(client, CLOSE_BOUND_MS);
  }
}

/** One index's waits between two of its cycles. */
export class Subscription {
  private woken = false;
  private waiter?: () => void;

  constructor(readonly index: string) {}

  wake(): void {
    this.woken = true;
    this.waiter?.();
  }

  /** Waits for a notification (or one that came since the last wait), at most `ms`, or until `signal` fires. */
  wait(ms: number, signal?: AbortSignal): Promise<Wake> {
    if (signal?.aborted) return Promise.resolve('stopped');
    if (this.woken) {
      this.woken = false;
      return Promise.resolve('notified');
    }
    return new Promise((resolve) => {
      const done = (why: Wake) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiter = undefined;
        if (why === 'notified') this.woken = false;
        resolve(why);
      };
      const onAbort = () => done('stopped');
      const timer = setTimeout(() => done('poll'), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = () => done('notified');
    });
  }
}
