/** Reads an index with plain HTTP, independent of the project's engine clients. */
export interface IndexedDoc {
  id: string;
  version: number;
  /** The document without its content hash: what the truth helpers build. */
  source: Record<string, unknown>;
  /** Its content_hash field (movies verify reads it), undefined when it has none. */
  hash?: string;
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
    for (const h of hits) {
      const { content_hash: hash, ...source } = h._source;
      out.set(h._id, { id: h._id, version: h._version, source, ...(typeof hash === 'string' ? { hash } : {}) });
    }
    if (hits.length < 5000) return out;
    after = hits[hits.length - 1]!.sort;
  }
}

/**
 * Deletes what a test made under a name: the concrete index of that name (an earlier version's
 * layout), or the indexes its alias points to and every index built for it (`<name>_<time>`).
 */
export async function deleteIndex(base: string, index: string): Promise<void> {
  const names = new Set(await physicalIndexes(base, index));
  const built = await fetch(`${base}/_cat/indices/${index}_*?format=json&h=index`);
  if (built.ok) for (const r of (await built.json()) as Array<{ index: string }>) names.add(r.index);
  names.add(index);
  for (const name of names) await fetch(`${base}/${name}`, { method: 'DELETE' });
}

/** The concrete indexes an alias points to ([] when it is not an alias). */
export async function physicalIndexes(base: string, alias: string): Promise<string[]> {
  const res = await fetch(`${base}/_alias/${alias}`);
  return res.ok ? Object.keys((await res.json()) as Record<string, unknown>) : [];
}

/** The cluster uuid GET / reports: with an alias, it names a target (and its lock key). */
export async function clusterOf(base: string): Promise<string> {
  return ((await call(`${base}/`)) as { cluster_uuid: string }).cluster_uuid;
}

/** Ids whose _version moved between two reads: the documents a run rewrote or deleted. */
export function changedIds(before: Map<string, IndexedDoc>, after: Map<string, IndexedDoc>): string[] {
  const ids = new Set<string>();
  for (const [id, d] of after) if (before.get(id)?.version !== d.version) ids.add(id);
  for (const id of before.keys()) if (!after.has(id)) ids.add(id);
  return [...ids].sort();
}
