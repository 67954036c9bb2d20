import type { Db } from '../db/knex.js';
import { CaptureLostError, SlotLagError, type MoviesError } from '../core/errors.js';
import type { CaptureName, SlotLagLimit } from '../config/types.js';
import { captureState } from './state.js';
import { slotInfo, type SlotInfo } from './logical/slot.js';


export interface CaptureStatus {
  mode: CaptureName;
  /** Logical capture's slot (null in trigger mode). */
  slot: null | (Omit<SlotInfo, 'confirmedLsn'> & {
    /** Gone (dropped by hand) or invalidated by the server: changes may be missing; rebuild with init-es. */
    lost: boolean;
    /** Seconds since movies last read the slot (recorded at most every 10 s while nothing changes), when WAL was written after what it read; else 0. */
    lagSeconds: number;
  });
}

export async function captureStatus(db: Db): Promise<CaptureStatus> {
  const s = await captureState(db);
  if (!s.slot) return { mode: s.mode, slot: null };
  const info = await slotInfo(db, s.slot);
  const since = s.appliedAt ?? (await db.raw<{ rows: Array<{ since: Date }> }>('SELECT since FROM movies.capture')).rows[0]!.since.toISOString();
  if (!info) return { mode: s.mode, slot: { name: s.slot, walStatus: null, retainedBytes: 0, lagBytes: 0, active: false, activePid: null, lost: true, lagSeconds: 0 } };
  const { confirmedLsn: _, ...rest } = info;
  return {
    mode: s.mode,
    slot: { ...rest, lost: info.walStatus === 'lost', lagSeconds: info.lagBytes > 0 ? Math.max(0, (Date.now() - Date.parse(since)) / 1000) : 0 },
  };
}

/** What is wrong with capture, for the exit code: a lost slot (13), or one past the limit (14). */
export function captureProblem(c: CaptureStatus, limit: SlotLagLimit | undefined): MoviesError | undefined {
  if (!c.slot) return undefined;
  if (c.slot.lost) return new CaptureLostError(`replication slot ${c.slot.name} is lost: changes may be missing; run \`movies init-es\` to rebuild every index from the database`);
  if (limit?.bytes !== undefined && c.slot.retainedBytes > limit.bytes) {
    return new SlotLagError(`replication slot ${c.slot.name} keeps ${c.slot.retainedBytes.toLocaleString('en')} bytes of WAL, over --max-slot-lag ${limit.bytes.toLocaleString('en')}: is anything running start-etl?`);
  }
  if (limit?.seconds !== undefined && c.slot.lagSeconds > limit.seconds) {
    return new SlotLagError(`replication slot ${c.slot.name} was last read ${c.slot.lagSeconds.toFixed(0)} s ago, over --max-slot-lag ${limit.seconds} s: is anything running start-etl?`);
  }
  return undefined;
}
