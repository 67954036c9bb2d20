import { readFileSync } from 'node:fs';
import { Client } from '@opensearch-project/opensearch';
import type { EngineConfig } from '../config/types.js';
import { engineAuth } from './auth.js';
import { BULK_FILTER_PATH, bulkItems, clusterHealthOf, nameStateOf, normalized, searchHits } from './normalize.js';
import { mgetParams, mgetStampsOf, stampsBody, stampsOf, unkeyedBody } from './stamps.js';
import type { IndexBody, SearchEngine } from './types.js';

export function createOpenSearch(cfg: EngineConfig, version: string, cluster: string): SearchEngine {
  const auth = engineAuth(cfg);
  const client = new Client({
    node: cfg.url,
    maxRetries: 0,
    requestTimeout: cfg.requestTimeoutMs,
    // The OpenSearch client has no apiKey option; the header is what the server reads.
    ...(auth && 'apiKey' in auth ? { headers: { authorization: `ApiKey ${auth.apiKey}` } } : auth ? { auth } : {}),
    ...(cfg.caFile ? { ssl: { ca: readFileSync(cfg.caFile) } } : {}),
  });
  const call = normalized;
  return {
    kind: 'opensearch',
    version,
    cluster,
    bulk: (ndjson, options) =>
      call(async () => bulkItems((await client.bulk({ body: ndjson, filter_path: BULK_FILTER_PATH, require_alias: options.requireAlias } as never)).body)),
    indexExists: (index) => call(async () => (await client.indices.exists({ index })).body === true),
    nameState: (name) =>
      call(() =>
        nameStateOf({
          aliasOf: async () => (await client.indices.getAlias({ name })).body,
          exists: async () => (await client.indices.exists({ index: name })).body === true,
          catStatus: async () => (await client.cat.indices({ index: name, format: 'json', h: 'status' } as never)).body,
          aliasesOfIndex: async () => (await client.indices.getAlias({ index: name })).body,
        }),
      ),
    updateAliases: (actions) =>
      call(async () => {
        await client.indices.updateAliases({ body: { actions } } as never);
      }),
    createIndex: (index, body: IndexBody) =>
      call(async () => {
        await client.indices.create({ index, body } as never);
      }),
    deleteIndex: (index) =>
      call(async () => {
        await client.indices.delete({ index }, { ignore: [404] });
      }),
    count: (index) => call(async () => Number((await client.count({ index })).body.count)),
    clusterHealth: () => call(async () => clusterHealthOf((await client.cluster.health()).body)),
    refresh: (index) =>
      call(async () => {
        await client.indices.refresh({ index });
      }),
    getIndexSettings: (index) =>
      call(async () => {
        const r = await client.indices.getSettings({ index, flat_settings: true });
        const body = r.body as Record<string, { settings?: Record<string, unknown> }>;
        return body[index]?.settings ?? {};
      }),
    putIndexSettings: (index, settings) =>
      call(async () => {
        await client.indices.putSettings({ index, body: settings } as never);
      }),
    search: (index, body) => call(async () => searchHits((await client.search({ index, body } as never)).body)),
    putMapping: (index, properties) =>
      call(async () => {
        await client.indices.putMapping({ index, body: { properties } } as never);
      }),
    stamps: (index, o) => call(async () => stampsOf((await client.search({ index, body: stampsBody(o) } as never)).body, o).stamps),
    unkeyedStamps: (index, o) => call(async () => stampsOf((await client.search({ index, body: unkeyedBody(o) } as never)).body, o)),
    getStamps: (index, ids, o) => call(async () => mgetStampsOf((await client.mget({ index, body: { ids }, ...mgetParams(o) } as never)).body, o, ids.length)),
    close: () => client.close(),
  };
}
