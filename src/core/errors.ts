/**
 * Every failure a user can cause or meet is one of these classes. The CLI's
 * single exit point (src/cli/exit.ts) maps them to the documented exit codes.
 */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  connection: 3,
  invalidData: 4,
  engineRejected: 5,
  locked: 6,
  unsupported: 7,
  // `status` only: what monitoring alerts on (the report is printed in every case).
  indexMissing: 8,
  lastRunFailed: 9,
  filmsRejected: 10,
  // `verify` only: an index differs from the database (the report is printed in every case).
  drift: 11,
  waitTimedOut: 12,
  // Logical capture: the server invalidated or lost the slot; changes may be missing from the queues.
  captureLost: 13,
  // `status` only: the slot holds more WAL, or is further behind, than --max-slot-lag.
  slotLag: 14,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class MoviesError extends Error {
  readonly exitCode: ExitCodeValue = ExitCode.internal;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad flags, bad environment, bad configuration. */
export class UsageError extends MoviesError {
  override readonly exitCode = ExitCode.usage;
}

/** PostgreSQL or the engine could not be reached (after retries). */
export class ConnectionError extends MoviesError {
  override readonly exitCode = ExitCode.connection;
}

/** Input data (fixture or catalogue row) breaks a rule; nothing was written or marked. */
export class InvalidDataError extends MoviesError {
  override readonly exitCode = ExitCode.invalidData;
}

/** The engine answered but refused documents or an index operation. */
export class EngineRejectedError extends MoviesError {
  override readonly exitCode = ExitCode.engineRejected;
}

/** Another start-etl holds the lock. */
export class LockedError extends MoviesError {
  override readonly exitCode = ExitCode.locked;
}

/** Another session's open transaction did not end within the bound this command may wait for it. */
export class WaitTimedOutError extends MoviesError {
  override readonly exitCode = ExitCode.waitTimedOut;
}

/** The server lacks something the mapping needs (e.g. the analysis-common module). */
export class UnsupportedError extends MoviesError {
  override readonly exitCode = ExitCode.unsupported;
}

/** SIGINT/SIGTERM: in-flight pages were finished and marked; the rest stays pending. */
export class InterruptedError extends MoviesError {
  override readonly exitCode = ExitCode.interrupted;
}

/** The index does not exist (never created, or deleted under us), or its alias was moved outside movies. */
export class IndexMissingError extends MoviesError {
  override readonly exitCode = ExitCode.indexMissing;
}

/** `status`: the last run failed or was interrupted; its films are still pending. */
export class LastRunFailedError extends MoviesError {
  override readonly exitCode = ExitCode.lastRunFailed;
}

/** `status`: films were left out by `start-etl --skip-invalid` and wait for a fix. */
export class FilmsRejectedError extends MoviesError {
  override readonly exitCode = ExitCode.filmsRejected;
}

/** `verify`: documents of an index differ from the database (missing, stale or orphan). */
export class DriftError extends MoviesError {
  override readonly exitCode = ExitCode.drift;
}

/** Logical capture cannot go on: the slot was invalidated (max_slot_wal_keep_size) or dropped; only a rebuild from the database is exact. */
export class CaptureLostError extends MoviesError {
  override readonly exitCode = ExitCode.captureLost;
}

/** `status`: the capture slot retains more WAL, or lags further, than --max-slot-lag. */
export class SlotLagError extends MoviesError {
  override readonly exitCode = ExitCode.slotLag;
}
