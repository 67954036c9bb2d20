import type { Db } from '../db/knex.js';
import type { Catalogue } from '../catalogue/layout.js';
import type { Names } from '../catalogue/names.js';
import type { Timeouts } from '../config/types.js';

import type { CaptureName } from '../config/types.js';

export type { CaptureName } from '../config/types.js';

export interface CaptureContext {
  db: Db;
  databaseUrl: string;
  timeouts: Timeouts;
  catalogue: Catalogue;
  names: Names;
  signal?: AbortSignal;
}

/** What one `collect` moved into the queues. */
export interface Collected {
  /** Committed transactions of the catalogue read (0 in trigger mode: the triggers queued them already). */
  transactions: number;
  /** Row changes among them. */
  changes: number;
  /** Whether everything committed before the call is in the queues now. */
  complete: boolean;
}

/**
 * One way of capturing changes. Each is filled the same way (./triggers/, ./logical/): `migrate`
 * checks the server, then starts the chosen mode and stops the other; runs `collect` before they
 * read the queues; `detach` removes what every mode added.
 */
export interface CaptureMode {
  readonly name: CaptureName;
  /** Refuses (UsageError, exit 2) where this server or role cannot capture this way, naming what to change. */
  check(c: CaptureContext): Promise<void>;
  /**
   * Starts capturing (idempotent: re-renders what the layout changed). When it returns, every
   * change committed from then on reaches the queues, now or at the next `collect`.
   */
  start(c: CaptureContext): Promise<void>;
  /** Stops capturing; called after the other mode's `start`, so no change falls between the two. */
  stop(c: CaptureContext): Promise<void>;
  /** Moves what was captured into the queues, up to what was committed when it was called. */
  collect(c: CaptureContext): Promise<Collected>;
  /**
   * Keeps moving captured changes into the queues as they commit, until stopped (a watch). A
   * failure it cannot get past (a lost slot) goes to `fatal`; others it logs and retries.
   */
  follow(c: CaptureContext, o: { log(message: string): void; fatal(err: unknown): void }): { stop(): Promise<void> };
  /**
   * Makes capture whole again after it lost changes (logical: the server invalidated the slot, or
   * someone dropped it), before `init-es` rebuilds from the database; `everyIndex` says whether
   * that rebuild covers every index (the only exact recovery).
   */
  recover(c: CaptureContext, everyIndex: boolean): Promise<void>;
  /** What this mode added outside schema movies (for `detach`'s plan), as "kind name". */
  added(db: Db): Promise<string[]>;
  /** Removes what this mode added outside schema movies (`detach`). */
  remove(db: Db): Promise<void>;
}
