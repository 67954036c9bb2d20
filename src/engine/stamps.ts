import { EngineHttpError, type DocStamp, type StampOptions } from './types.js';

/*
 * What `movies verify` reads of an index: each document's _id, its `id` field and its content
 * hash, from doc values (no _source unless `source`), sorted by `id` in pages that follow each
 * other with search_after. Both engines take the same bodies and answer in the same shape; each
 * adapter only makes the calls.
 */

/** The page of documents with an `id` field after `after` (all from the start when undefined), sorted by it. */
export const stampsBody = (o: StampOptions & { after?: string; size: number }): Record<string, unknown> => ({
  size: o.size,
  query: { exists: { field: 'id' } },
  sort: [{ id: 'asc' }],
  ...(o.after !== undefined ? { search_after: [o.after] } : {}),
  _source: o.source === true,
  docvalue_fields: ['id', o.hashField],
  track_total_hits: false,
});

/** The parameters of an _mget that reads stamps (in real time). */
export const mgetParams = (o: StampOptions): Record<string, unknown> => ({
  realtime: true,
  ...(o.source ? {} : { _source_includes: ['id', o.hashField] }),
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

function stampOf(h: RawHit, o: StampOptions): DocStamp | undefined {
  if (typeof h._id !== 'string') return undefined;
  const stamp: DocStamp = { _id: h._id };
  const id = firstString(h.fields?.id ?? h._source?.id);
  const hash = firstString(h.fields?.[o.hashField] ?? h._source?.[o.hashField]);
  if (id !== undefined) stamp.id = id;
  if (hash !== undefined) stamp.hash = hash;
  if (o.source && h._source) {
    const { [o.hashField]: _, ...source } = h._source;
    stamp.source = source;
  }
  return stamp;
}

/*
 * An answer without its list is malformed, not empty: read as empty, an index would look as if
 * it had no documents there, and verify would compare nothing. It fails like an unreachable
 * engine (retried within the budget, then exit 3).
 */
const malformed = (what: string) => new EngineHttpError(`malformed ${what} answer (no ${what === 'search' ? 'hits.hits' : 'docs'} list)`, undefined, 'malformed');

/** The stamps of a search answer's hits, in their order. */
export function stampsOf(body: unknown, o: StampOptions): { total: number; stamps: DocStamp[] } {
  const h = ((body ?? {}) as { hits?: { total?: number | { value?: number }; hits?: RawHit[] } }).hits;
  if (!h || !Array.isArray(h.hits)) throw malformed('search');
  const total = typeof h.total === 'number' ? h.total : Number(h.total?.value ?? 0);
  return { total, stamps: h.hits.flatMap((x) => stampOf(x, o) ?? []) };
}

/**
 * The found documents of an _mget answer, read from their _source. The engine answers one entry
 * per id asked (found or not): a list of any other length is malformed too, or an empty list
 * would read as "none of them exists".
 */
export function mgetStampsOf(body: unknown, o: StampOptions, asked: number): DocStamp[] {
  const docs = ((body ?? {}) as { docs?: RawHit[] }).docs;
  if (!Array.isArray(docs)) throw malformed('mget');
  if (docs.length !== asked) {
    throw new EngineHttpError(`malformed mget answer (${docs.length} entries for ${asked} ids)`, undefined, 'malformed');
  }
  return docs.flatMap((d) => (d.found ? (stampOf(d, o) ?? []) : []));
}
