import { readFileSync } from 'node:fs';
import { Client } from '@elastic/elasticsearch';
import type { EngineConfig } from '../config/types.js';
import { engineAuth } from './auth.js';
import { BULK_FILTER_PATH, bulkItems, clusterHealthOf, nameStateOf, normalized, searchHits } from './normalize.js';
import { mgetParams, mgetStampsOf, stampsBody, stampsOf, unkeyedBody } from './stamps.js';
import type { IndexBody, SearchEngine } from './types.js';

export function createElasticsearch(cfg: EngineConfig, version: string, cluster: string): SearchEngine {
  const auth = engineAuth(cfg);
  const client = new Client({
    node: cfg.url,
    // Retries are ours (src/core/retry.ts), bounded by --max-retry-time; each request by a timeout derived from it.
    maxRetries: 0,
    requestTimeout: cfg.requestTimeoutMs,
    ...(auth ? { auth } : {}),
    ...(cfg.caFile ? { tls: { ca: readFileSync(cfg.caFile) } } : {}),
  });
  const call = normalized;
  return {
    kind: 'elasticsearch',
    version,
    cluster,
    bulk: (ndjson, options) =>
      call(async () => bulkItems(await client.bulk({ body: ndjson, filter_path: BULK_FILTER_PATH, require_alias: options.requireAlias } as never))),
    indexExists: (index) => call(() => client.indices.exists({ index })),
    nameState: (name) =>
      call(() =>
        nameStateOf({
          aliasOf: () => client.indices.getAlias({ name }),
          exists: () => client.indices.exists({ index: name }),
          catStatus: () => client.cat.indices({ index: name, format: 'json', h: 'status' }),
          aliasesOfIndex: () => client.indices.getAlias({ index: name }),
        }),
      ),
    updateAliases: (actions) =>
      call(async () => {
        await client.indices.updateAliases({ actions } as never);
      }),
    createIndex: (index, body: IndexBody) =>
      call(async () => {
        await client.indices.create({ index, ...body } as never);
      }),
    deleteIndex: (index) =>
      call(async () => {
        await client.indices.delete({ index }, { ignore: [404] });
      }),
    count: (index) => call(async () => (await client.count({ index })).count),
    clusterHealth: () => call(async () => clusterHealthOf(await client.cluster.health())),
    refresh: (index) =>
      call(async () => {
        await client.indices.refresh({ index });
      }),
    getIndexSettings: (index) =>
      call(async () => {
        const r = await client.indices.getSettings({ index, flat_settings: true });
        return (r[index]?.settings ?? {}) as Record<string, unknown>;
      }),
    putIndexSettings: (index, settings) =>
      call(async () => {
        await client.indices.putSettings({ index, settings } as never);
      }),
    search: (index, body) => call(async () => searchHits(await client.search({ index, ...body } as never))),
    putMapping: (index, properties) =>
      call(async () => {
        await client.indices.putMapping({ index, properties } as never);
      }),
    stamps: (index, o) => call(async () => stampsOf(await client.search({ index, ...stampsBody(o) } as never), o).stamps),
    unkeyedStamps: (index, o) => call(async () => stampsOf(await client.search({ index, ...unkeyedBody(o) } as never), o)),
    getStamps: (index, ids, o) => call(async () => mgetStampsOf(await client.mget({ index, ids, ...mgetParams(o) } as never), o, ids.length)),
    close: () => client.close(),
  };
}
