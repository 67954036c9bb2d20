/** Reads an index with plain HTTP, independent of the project's engine clients. */
export interface IndexedDoc {
  id: string;
  version: number;
  source: Record<string, unknown>;
}

async function call(url: string, init?: RequestInit): Promise<unknown> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...(init?.headers ?? {}) } });
  const body = await res.json();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export async function refresh(base: string, index: string): Promise<void> {
  await call(`${base}/${index}/_refresh`, { method: 'POST' });
}

export async function allDocs(base: string, index: string): Promise<Map<string, IndexedDoc>> {
  await refresh(base, index);
  const out = new Map<string, IndexedDoc>();
  let after: unknown[] | undefined;
  for (;;) {
    const body = (await call(`${base}/${index}/_search`, {
      method: 'POST',
      body: JSON.stringify({ size: 5000, version: true, sort: [{ id: 'asc' }], ...(after ? { search_after: after } : {}) }),
    })) as { hits: { hits: Array<{ _id: string; _version: number; _source: Record<string, unknown>; sort: unknown[] }> } };
    const hits = body.hits.hits;
    for (const h of hits) out.set(h._id, { id: h._id, version: h._version, source: h._source });
    if (hits.length < 5000) return out;
    after = hits[hits.length - 1]!.sort;
  }
}

export async function deleteIndex(base: string, index: string): Promise<void> {
  await fetch(`${base}/${index}`, { method: 'DELETE' });
}

/** Ids whose _version moved between two reads: the documents a run rewrote or deleted. */
export function changedIds(before: Map<string, IndexedDoc>, after: Map<string, IndexedDoc>): string[] {
  const ids = new Set<string>();
  for (const [id, d] of after) if (before.get(id)?.version !== d.version) ids.add(id);
  for (const id of before.keys()) if (!after.has(id)) ids.add(id);
  return [...ids].sort();
}
