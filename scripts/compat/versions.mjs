// The exact versions a cell ran against, read from the running servers themselves.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { psql } from '../services/psql.mjs';

/** "elasticsearch 8.19.21" or "opensearch 2.19.1", from GET /. */
export async function engineVersion(url) {
  const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(10_000) });
  const body = await res.json();
  const kind = body?.version?.distribution === 'opensearch' ? 'OpenSearch' : 'Elasticsearch';
  return `${kind} ${body?.version?.number ?? '?'}`;
}

/** "PostgreSQL 18.4", from the server. */
export async function postgresVersion(url) {
  const r = await psql(url, 'show server_version');
  return r.code === 0 ? `PostgreSQL ${r.stdout.trim().split(' ')[0]}` : 'PostgreSQL ?';
}

/** The Java a search server runs on (its pid record names the JDK), e.g. "17.0.15". */
export async function javaVersion(record) {
  if (!record?.java) return '?';
  try {
    const release = await fsp.readFile(path.join(record.java, 'release'), 'utf8');
    return /^JAVA_VERSION="([^"]+)"/m.exec(release)?.[1] ?? '?';
  } catch {
    return '?';
  }
}
