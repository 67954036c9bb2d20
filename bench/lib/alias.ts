/*
 * Removing what a benchmark's `movies init-es` left: the alias's concrete indexes
 * (<alias>_<timestamp>, live and kept) and the database's targets for that alias. Without the
 * second step the capture triggers would keep queueing every change for a target whose index
 * is gone. Plain HTTP and SQL, so that cleanup does not depend on the code being measured.
 */
import pg from 'pg';

interface CatIndex {
  index: string;
}

/** Concrete indexes behind `alias` on the engine at `engineUrl` (what it points to and every <alias>_*). */
export async function concreteIndexes(engineUrl: string, alias: string): Promise<string[]> {
  const names = new Set<string>();
  const a = await fetch(`${engineUrl}/_alias/${alias}`);
  if (a.ok) for (const index of Object.keys((await a.json()) as Record<string, unknown>)) names.add(index);
  // Kept and half-built indexes are no longer behind the alias; they share its prefix.
  const c = await fetch(`${engineUrl}/_cat/indices/${alias}_*?format=json&h=index`);
  if (c.ok) for (const r of (await c.json()) as CatIndex[]) names.add(r.index);
  return [...names].filter((n) => n === alias || n.startsWith(`${alias}_`));
}

/** Deletes the alias's indexes one by one (Elasticsearch refuses wildcard deletes) and its targets. */
export async function dropAlias(databaseUrl: string, engineUrl: string, alias: string): Promise<string[]> {
  const indexes = await concreteIndexes(engineUrl, alias);
  for (const index of indexes) {
    const r = await fetch(`${engineUrl}/${index}?ignore_unavailable=true`, { method: 'DELETE' });
    if (!r.ok && r.status !== 404) throw new Error(`deleting ${index}: HTTP ${r.status} ${await r.text()}`);
  }
  const info = (await (await fetch(engineUrl)).json()) as { cluster_uuid?: string };
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    // The queues' rows go with their target (ON DELETE CASCADE, migration 005).
    await c.query('DELETE FROM movies.etl_target WHERE alias = $1 AND cluster = $2', [alias, info.cluster_uuid ?? '']);
  } finally {
    await c.end();
  }
  return indexes;
}
