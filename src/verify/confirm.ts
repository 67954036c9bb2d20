import type { DocStamp } from '../engine/types.js';
import type { DriftKind } from './compare.js';
import type { Current } from './expected.js';

/** A drifted document, as two readings in a row agreed. */
export interface Drifted {
  id: string;
  kind: DriftKind;
  /** Stale because it carries no content hash: indexed by a version before documents had one. */
  unhashed?: true;
}

export interface Verdicts {
  drifted: Drifted[];
  /** Different, but pending for the target: the next run brings them in step. */
  pending: string[];
  /** Still changing after every reading (a writer and a run at work on them): not called drift. */
  changing: string[];
}

/** How to read the suspects again: the engine in real time, the database in one snapshot. */
export interface Readers {
  engine(ids: string[]): Promise<DocStamp[]>;
  /** Only uuids reach it: anything else cannot be a document of the database. */
  database(ids: string[]): Promise<Map<string, Current>>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isUuid = (id: string): boolean => UUID.test(id);

/** One reading of one document: in step, pending, or drifted in a way named by its signature. */
export function judge(id: string, db: Current | undefined, doc: DocStamp | undefined): 'ok' | 'pending' | { kind: DriftKind; signature: string; unhashed?: true } {
  if (db?.pending) return 'pending';
  const want = db?.hash ?? null;
  if (want === null) return doc ? { kind: 'orphan', signature: `orphan ${doc.hash ?? '-'}` } : 'ok';
  if (!doc) return { kind: 'missing', signature: `missing ${want}` };
  if (doc.id === id && doc.hash === want) return 'ok';
  return { kind: 'stale', signature: `stale ${want} ${doc.id ?? '-'} ${doc.hash ?? '-'}`, ...(doc.hash === undefined ? { unhashed: true as const } : {}) };
}

/**
 * Reads the suspects again, the engine first and then the database, until each is in step,
 * pending, or drifted the same way in two readings in a row. One reading is not proof: the
 * ETL may write a document between the two reads of a reading and mark it before the second.
 * A document marked indexed was acknowledged before it was marked, so when two readings in a
 * row see the database unchanged and not pending while the engine disagrees, the engine held
 * the wrong document across that time. `rounds` bounds the readings.
 */
export async function confirm(ids: string[], read: Readers, rounds = 3): Promise<Verdicts> {
  const out: Verdicts = { drifted: [], pending: [], changing: [] };
  const last = new Map<string, string>();
  let open = [...new Set(ids)];
  for (let round = 0; round < rounds && open.length > 0; round++) {
    const docs = new Map((await read.engine(open)).map((d) => [d._id, d]));
    const uuids = open.filter(isUuid);
    const db = uuids.length > 0 ? await read.database(uuids) : new Map<string, Current>();
    const again: string[] = [];
    for (const id of open) {
      const v = judge(id, db.get(id), docs.get(id));
      if (v === 'ok') continue;
      if (v === 'pending') out.pending.push(id);
      else if (last.get(id) === v.signature) out.drifted.push({ id, kind: v.kind, ...(v.unhashed ? { unhashed: v.unhashed } : {}) });
      else {
        last.set(id, v.signature);
        again.push(id);
      }
    }
    open = again;
  }
  out.changing.push(...open);
  return out;
}
