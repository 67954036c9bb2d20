import type { DocStamp } from './types.js';

/*
 * What `movies verify` reads of an index: each document's _id, its `id` field and its content
 * hash, from doc values (no _source), sorted by `id` in pages that follow each other with
 * search_after. Both engines take the same bodies and answer in the same shape; each adapter
 * only makes the calls.
 */

/** The page of documents with an `id` field after `after` (all from the start when undefined), sorted by it. */
export const stampsBody = (o: { after?: string; size: number; hashField: string }): Record<string, unknown> => ({
  size: o.size,
  query: { exists: { field: 'id' } },
  sort: [{ id: 'asc' }],
  ...(o.after !== undefined ? { search_after: [o.after] } : {}),
  _source: false,
  docvalue_fields: ['id', o.hashField],
  track_total_hits: false,
});

/** Documents without an `id` field (written by hand): only a bounded window of them can be listed. */
export const unkeyedBody = (o: { size: number }): Record<string, unknown> => ({
  size: o.size,
  query: { bool: { must_not: { exists: { field: 'id' } } } },
  _source: false,
  track_total_hits: true,
});

interface RawHit {
  _id?: string;
  fields?: Record<string, unknown[]>;
  _source?: Record<string, unknown>;
  found?: boolean;
}

const firstString = (v: unknown): string | undefined => {
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === 'string' ? x : undefined;
};

function stampOf(h: RawHit, hashField: string): DocStamp | undefined {
  if (typeof h._id !== 'string') return undefined;
  const from = h.fields ?? h._source ?? {};
  const stamp: DocStamp = { _id: h._id };
  const id = firstString(from.id);
  const hash = firstString(from[hashField]);
  if (id !== undefined) stamp.id = id;
  if (hash !== undefined) stamp.hash = hash;
  return stamp;
}

/** The stamps of a search answer's hits, in their order. */
export function stampsOf(body: unknown, hashField: string): { total: number; stamps: DocStamp[] } {
  const h = ((body ?? {}) as { hits?: { total?: number | { value?: number }; hits?: RawHit[] } }).hits ?? {};
  const total = typeof h.total === 'number' ? h.total : Number(h.total?.value ?? 0);
  return { total, stamps: (h.hits ?? []).flatMap((x) => stampOf(x, hashField) ?? []) };
}

/** The found documents of an _mget answer, read from their _source (id and hash only). */
export function mgetStampsOf(body: unknown, hashField: string): DocStamp[] {
  const docs = ((body ?? {}) as { docs?: RawHit[] }).docs ?? [];
  return docs.flatMap((d) => (d.found ? (stampOf(d, hashField) ?? []) : []));
}
