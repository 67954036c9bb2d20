import type { DocStamp } from '../engine/types.js';
import type { Expected } from './expected.js';
import type { Cursor } from './pages.js';

/** What can be wrong with one document. */
export type DriftKind = 'missing' | 'stale' | 'orphan';

/**
 * The order both sides are sorted in: the engine sorts keywords by their UTF-8 bytes. uuids are
 * ASCII, where JavaScript's order is the same; anything else (an id written by hand) is compared
 * as bytes.
 */
export function byteOrder(a: string, b: string): number {
  // Every code unit below 0x80: bytes and code units agree.
  if (/^[\x00-\x7f]*$/.test(a + b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A document the first reading found different: an `_id` to look at again. */
export interface Suspect {
  id: string;
  /** What the first reading suggests; the confirmation decides. */
  kind: DriftKind;
  /** Found under an _id that its `id` field does not name, or without one: it matched nothing. */
  stray?: true;
}

export interface Stretch {
  /** Expected documents compared so far (for progress). */
  compared: number;
  suspects: Suspect[];
}

/**
 * Merges the database's documents and the engine's, both sorted by id, and yields the ids that
 * differ in stretches of at most `limit`, so that memory stays one stretch whatever the drift.
 * An engine document whose `_id` is not its `id` field is a suspect under its `_id` and matches
 * nothing: the document of that id, if any, is looked for on its own.
 */
export async function* suspects(expected: Cursor<Expected>, indexed: Cursor<DocStamp>, limit: number): AsyncGenerator<Stretch> {
  let compared = 0;
  let reported = 0;
  let found: Suspect[] = [];
  for (;;) {
    const e = await expected.peek();
    const x = await indexed.peek();
    if (!e && !x) break;
    if (x && x._id !== x.id) {
      found.push({ id: x._id, kind: 'orphan', stray: true });
      indexed.advance();
    } else {
      const c = !x ? -1 : !e ? 1 : byteOrder(e.id, x.id!);
      if (c < 0) found.push({ id: e!.id, kind: 'missing' });
      else if (c > 0) found.push({ id: x!._id, kind: 'orphan' });
      else if (e!.hash !== x!.hash) found.push({ id: e!.id, kind: 'stale' });
      if (c <= 0) {
        expected.advance();
        compared++;
      }
      if (c >= 0) indexed.advance();
    }
    if (found.length >= limit || compared - reported >= limit) {
      yield { compared, suspects: found };
      reported = compared;
      found = [];
    }
  }
  yield { compared, suspects: found };
}
