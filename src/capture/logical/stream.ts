import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import type pg from 'pg';
import { pgConnectionOptions } from '../../db/knex.js';
import { CaptureLostError } from '../../core/errors.js';
import { sleep } from '../../core/retry.js';
import type { CaptureContext, Collected } from '../mode.js';
import { captureState } from '../state.js';
import { applyTransactions } from './apply.js';
import { ChangeReader, type SlotTransaction } from './changes.js';
import { lsnText, lsnValue } from './lsn.js';
import { lostMessage, slotInfo } from './slot.js';

/**
 * How movies reads the slot: as a replication stream (pg-logical-replication), which the server
 * decodes once, instead of peeking it again and again. Measured (bench/slot-read.ts,
 * 200k changes, 2 cores): a peek re-decodes from the slot's restart point at every call, which
 * a transaction left open elsewhere holds back: 57 ms of the server's CPU per idle look, growing
 * with the WAL held; the stream costs the server nothing when idle and drains 1.7-8x faster.
 *
 * Each commit's changes are applied (queue rows, capture_row and applied_lsn, one transaction:
 * ./apply.ts) at most APPLY_DELAY_MS after it arrives, or at once when FAN_OUT_CHANGES are waiting;
 * only then is the server told the position (acknowledge): a process killed at any point finds
 * the unacknowledged transactions in the slot again, and skips those applied_lsn already covers.
 * While nothing arrives it asks the server where it is every PING_MS and confirms that position
 * once everything received before it was handled, so the slot keeps no WAL for an idle watch.
 */
const APPLY_DELAY_MS = 20;
const APPLY_CHANGES = 2_000;
const PING_MS = 1_000;
const READ_MARK_MS = 10_000;
/** A run waiting for a position asks the server where it is this often. */
const UNTIL_PING_MS = 100;
const RETRY_MAX_MS = 30_000;

/** A parser that counts the messages it was given, to know when every message received has been handled. */
class CountingPlugin extends PgoutputPlugin {
  received = 0;
  override parse(buffer: Buffer): Pgoutput.Message {
    this.received++;
    return super.parse(buffer);
  }
}

export interface Follower {
  stop(): Promise<void>;
}

/**
 * Keeps the queues filled from the slot until stopped: connects, streams, and reconnects after
 * a failure (with a backoff, logged). A lost slot ends it through `fatal`; none recorded (trigger
 * capture) makes it look again every few seconds, so that a switch to logical is followed.
 */
export function followSlot(c: CaptureContext, o: { log(m: string): void; fatal(err: unknown): void }): Follower {
  const stopping = new AbortController();
  let current: Stream | undefined;
  const loop = (async () => {
    let backoff = 0;
    while (!stopping.signal.aborted) {
      try {
        const s = await captureState(c.db);
        if (!s.slot || !s.publication) {
          await sleep(5_000, stopping.signal).catch(() => undefined);
          continue;
        }
        const info = await slotInfo(c.db, s.slot);
        if (!info || info.walStatus === 'lost') throw new CaptureLostError(lostMessage(s.slot, info !== undefined));
        current = new Stream(c, s.slot, s.publication, o.log);
        await current.run(stopping.signal);
        backoff = 0;
      } catch (err) {
        if (stopping.signal.aborted) break;
        if (err instanceof CaptureLostError) {
          o.fatal(err);
          break;
        }
        backoff = Math.min(RETRY_MAX_MS, Math.max(1_000, backoff * 2));
        o.log(`capture: reading the slot failed: ${(err as Error).message}; again in ${backoff / 1000} s`);
        await sleep(backoff, stopping.signal).catch(() => undefined);
      } finally {
        current = undefined;
      }
    }
  })();
  return {
    stop: async () => {
      stopping.abort();
      await current?.close();
      await loop;
    },
  };
}

/**
 * One-shot collection (a run, verify, a switch): streams the slot until everything committed up
 * to `until` is in the queues. Null when another process streams it now (the slot is in use).
 */
export async function streamUntil(c: CaptureContext, slot: string, publication: string, until: string): Promise<Collected | null> {
  const stream = new Stream(c, slot, publication, () => undefined);
  try {
    await stream.run(c.signal ?? new AbortController().signal, until);
  } catch (err) {
    if ((err as { code?: string }).code === SLOT_IN_USE) return null;
    throw err;
  }
  c.signal?.throwIfAborted();
  return { ...stream.applies, complete: true };
}

/** SQLSTATE object_in_use: START_REPLICATION on a slot another session streams. */
export const SLOT_IN_USE = '55006';

/** One replication connection's stream, until it fails or is stopped. */
class Stream {
  private readonly service: LogicalReplicationService;
  private readonly plugin: CountingPlugin;
  private readonly reader: ChangeReader;
  private pending: SlotTransaction[] = [];
  private pendingChanges = 0;
  private handled = 0;
  private applied = -1n;
  private appliedAt = 0;
  /** Serialises applies and acknowledgements. */
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private failure: unknown;
  private failed!: (err: unknown) => void;

  constructor(
    private readonly c: CaptureContext,
    private readonly slot: string,
    publication: string,
    private readonly log: (m: string) => void,
  ) {
    const options = pgConnectionOptions(c.databaseUrl, c.timeouts, 'movies capture');
    // The stream's own statements never end: only the connection's bounds apply.
    const { statement_timeout: _s, query_timeout: _q, lock_timeout: _l, ...connection } = options;
    this.service = new LogicalReplicationService(connection as pg.ClientConfig, { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } });
    this.plugin = new CountingPlugin({ protoVersion: 1, publicationNames: [publication] });
    this.reader = new ChangeReader(c.catalogue);
  }

  /** Transactions and changes applied so far. */
  readonly applies = { transactions: 0, changes: 0 };
  private until: bigint | undefined;
  private reached!: () => void;

  /** Streams until `signal` aborts, the stream fails (rejects), or, with `until`, everything up to that position is in the queues. */
  async run(signal: AbortSignal, until?: string): Promise<void> {
    const s = await captureState(this.c.db);
    this.applied = s.appliedLsn ? lsnValue(s.appliedLsn) : -1n;
    this.appliedAt = s.appliedAt ? Date.parse(s.appliedAt) : 0;
    this.until = until === undefined ? undefined : lsnValue(until);
    const ended = new Promise<void>((resolve, reject) => {
      this.failed = reject;
      this.reached = resolve;
    });
    this.service.on('data', (_lsn: string, m: Pgoutput.Message) => this.take(m));
    this.service.on('heartbeat', (lsn: string, _ts: number, respond: boolean) => this.heartbeat(lsn, respond));
    this.service.on('error', (err: Error) => this.fail(err));
    const subscribed = this.service.subscribe(this.plugin, this.slot).then(
      () => this.fail(new Error('the replication stream ended')),
      (err: unknown) => this.fail(err),
    );
    // Asks the server where it is: at once for a run that waits for a position, then every PING_MS (UNTIL_PING_MS).
    const ping = setInterval(() => this.enqueue(() => this.ack(null, true)), this.until === undefined ? PING_MS : UNTIL_PING_MS);
    const onAbort = () => this.failed(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await ended;
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      clearInterval(ping);
      signal.removeEventListener('abort', onAbort);
      await this.close();
      await subscribed;
    }
  }

  /** Applies what arrived, tells the server, and ends the stream. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    if (this.failure === undefined) this.enqueue(() => this.apply());
    await this.chain.catch(() => undefined);
    await this.service.stop().catch(() => undefined);
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    this.failed?.(err);
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(step).catch((err: unknown) => this.fail(err));
    return this.chain;
  }

  /** One message, in order (flow control awaits this before the next). */
  private async take(m: Pgoutput.Message): Promise<void> {
    const tx = this.reader.take(m);
    this.handled++;
    if (!tx) return;
    if (lsnValue(tx.endLsn) <= this.applied) return;
    this.pending.push(tx);
    this.pendingChanges += tx.changes.length;
    if (this.pendingChanges >= APPLY_CHANGES) await this.enqueue(() => this.apply());
    else this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.enqueue(() => this.apply());
    }, APPLY_DELAY_MS);
  }

  /** The waiting transactions into the queues, then their end to the server. */
  private async apply(): Promise<void> {
    if (this.pending.length === 0) return;
    const txs = this.pending;
    this.pending = [];
    this.pendingChanges = 0;
    const end = txs[txs.length - 1]!.endLsn;
    const work = txs.filter((t) => t.changes.length > 0);
    if (work.length > 0) {
      await this.c.db.transaction((trx) => applyTransactions(trx, this.c, work, end));
      this.appliedAt = Date.now();
      this.applies.transactions += work.length;
      this.applies.changes += work.reduce((a, t) => a + t.changes.length, 0);
    }
    this.applied = lsnValue(end);
    await this.confirm(this.applied, false);
    this.checkReached();
  }

  /**
   * Tells the server that everything before `lsn` is in the queues. pg-logical-replication sends
   * the position it is given plus one (as a standby reports a byte received); a transaction
   * whose commit record begins exactly at `lsn` (the next one after a commit ending there) would
   * then be skipped at the next start, so it is given `lsn - 1`: the slot's confirmed position is
   * then `lsn`, as PostgreSQL's own subscribers report it.
   */
  private async confirm(lsn: bigint, ping: boolean): Promise<void> {
    await this.service.acknowledge(lsnText(lsn - 1n), ping);
  }

  private checkReached(): void {
    if (this.until !== undefined && this.applied >= this.until) this.reached();
  }

  /**
   * The server's position: confirmed as it is once every message received before it has been
   * handled and applied (nothing of ours lies before it), else the last applied position.
   */
  private heartbeat(lsn: string, respond: boolean): void {
    // A keepalive may come between the messages of one transaction: never confirm inside one.
    const idle = this.plugin.received === this.handled && this.pending.length === 0 && !this.reader.inTransaction;
    if (idle || respond) void this.enqueue(() => this.ack(idle ? lsn : null, false));
  }

  private async ack(at: string | null, ping: boolean): Promise<void> {
    if (at !== null && lsnValue(at) > this.applied) {
      this.applied = lsnValue(at);
      // `status` tells how long ago movies last read the slot: recorded at most every READ_MARK_MS.
      if (Date.now() - this.appliedAt > READ_MARK_MS) {
        await this.c.db.raw('UPDATE movies.capture SET applied_lsn = greatest(applied_lsn, ?::pg_lsn), applied_at = clock_timestamp()', [at]);
        this.appliedAt = Date.now();
      }
    }
    if (this.applied >= 0n) await this.confirm(this.applied, ping);
    else if (ping) await this.service.acknowledge('0/0', true);
    this.checkReached();
  }
}
