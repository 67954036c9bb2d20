import type { Db } from '../db/knex.js';
import { enqueueIds } from '../db/queue.js';
import type { SearchEngine } from '../engine/types.js';
import { EngineRejectedError } from '../core/errors.js';
import type { IndexSpec } from '../indexes/spec.js';
import { isUuid, type Drifted } from './confirm.js';

export interface Repaired {
  /** Drifted documents made pending: the next start-etl (or the watch) indexes or deletes them. */
  enqueued: number;
  /** Documents whose _id is no uuid, deleted from the index at once: no queue can name them. */
  deleted: number;
}

/**
 * Repairs drift through the usual pipeline: every drifted document becomes pending for the
 * target, so start-etl builds it from the database (an orphan, whose row does not exist, as a
 * delete) and marks it only on the engine's acknowledgement. A document whose _id is no uuid
 * (written by hand) cannot be queued; it is deleted from the index directly, and each delete
 * must be acknowledged (200, or 404: already gone).
 */
export async function repair(
  o: { db: Db; engine: SearchEngine; spec: Pick<IndexSpec, 'name' | 'queue'>; target: number; physical: string },
  drifted: Drifted[],
): Promise<Repaired> {
  const uuids = drifted.filter((d) => isUuid(d.id)).map((d) => d.id);
  const others = drifted.filter((d) => !isUuid(d.id)).map((d) => d.id);
  const enqueued = await enqueueIds(o.db, o.spec.queue, o.target, uuids);
  if (others.length === 0) return { enqueued, deleted: 0 };
  const index = JSON.stringify(o.physical);
  const body = others.map((id) => `{"delete":{"_index":${index},"_id":${JSON.stringify(id)}}}\n`).join('');
  const items = await o.engine.bulk(body, { requireAlias: false });
  const refused = others.filter((id) => !items.some((i) => i.id === id && i.action === 'delete' && (i.status === 200 || i.status === 404)));
  if (refused.length > 0) {
    throw new EngineRejectedError(`the engine did not acknowledge deleting ${refused.length} document(s) from ${o.physical} (first: ${JSON.stringify(refused[0])})`);
  }
  return { enqueued, deleted: others.length };
}
