/*
 * The ingest ceiling: the very documents start-etl sends, built beforehand with the ETL's own
 * extractor and transformer and serialized, then pushed with the OpenSearch client's bulk
 * helper into a fresh index with the same mapping and the same bulk-load settings.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@opensearch-project/opensearch';
import { createDb } from '../../src/db/knex.js';
import { enqueue } from '../../src/db/queue.js';
import { dropTarget, registerBuild } from '../../src/db/targets.js';
import { pendingWatermark, readPage } from '../../src/etl/extractor.js';
import { loadValidator } from '../../src/core/json-schema.js';
import { filmsIndex as filmsDefinition } from '../../src/indexes/films/index.js';
import { bindIndex } from '../../src/indexes/spec.js';
import { names } from '../../src/catalogue/names.js';
import { defaultCatalogue } from '../../src/catalogue/resolve.js';

const filmsIndex = bindIndex(filmsDefinition, names(defaultCatalogue()));
import { engineUrl, ROOT } from './measure.js';

export interface Prebuilt {
  id: string;
  json: string;
}

/**
 * Reads every film through the ETL's extractor (keyset pages) and serializes its document.
 * Pending state is per target (migration 005), so the films are made pending for a throwaway
 * target of their own, which is deleted at the end with its queue rows (the foreign key
 * cascades): no index's pending state is touched.
 */
export async function buildDocuments(databaseUrl: string): Promise<Prebuilt[]> {
  const db = createDb(databaseUrl, { timeouts: { connectMs: 10_000, statementMs: 600_000 } });
  const validate = loadValidator(filmsIndex.schemaPath);
  const out: Prebuilt[] = [];
  const stamp = Date.now();
  const target = await registerBuild(
    db,
    { indexName: filmsIndex.name, cluster: `bench-ceiling-${stamp}`, alias: 'bench_ceiling_documents', engine: 'none', url: '' },
    `bench_ceiling_documents_${stamp}`,
  );
  try {
    await enqueue(db, filmsIndex.queue, filmsIndex.allIdsSql, { target: target.id });
    const { upTo } = await pendingWatermark(db, filmsIndex.queue, target.id);
    let after = 0;
    for (;;) {
      const rows = await readPage(db, filmsIndex, target.id, after, upTo, 2000);
      if (rows.length === 0) break;
      for (const row of rows) {
        // As the ETL does since issue 13: PostgreSQL's JSON text, validated, sent as it is.
        if (row.doc === null || !validate(JSON.parse(row.doc))) throw new Error(`invalid document ${row.id}`);
        out.push({ id: row.id, json: row.doc });
      }
      after = rows[rows.length - 1]!.version;
    }
  } finally {
    await dropTarget(db, target.id).finally(() => db.destroy());
  }
  return out;
}

export interface CeilingSettings {
  flushBytes: number;
  concurrency: number;
}

export interface CeilingRun extends CeilingSettings {
  seconds: number;
  docs: number;
  docsPerSecond: number;
  failed: number;
}

export async function recreateIndex(client: Client, index: string): Promise<void> {
  const body = JSON.parse(readFileSync(join(ROOT, 'mappings/movies.json'), 'utf8')) as Record<string, unknown>;
  await client.indices.delete({ index }, { ignore: [404] });
  await client.indices.create({ index, body } as never);
}

export function engineClient(): Client {
  return new Client({ node: engineUrl(), requestTimeout: 120_000 });
}

/** Sends `docs` into a fresh `index`; timed from the first bulk to the final refresh. */
export async function ceilingRun(docs: Prebuilt[], index: string, s: CeilingSettings): Promise<CeilingRun> {
  const client = engineClient();
  try {
    await recreateIndex(client, index);
    const started = performance.now();
    // The same bulk-load settings start-etl applies to a big run, restored at the end.
    await client.indices.putSettings({ index, body: { 'index.refresh_interval': '-1', 'index.number_of_replicas': '0' } } as never);
    const stats = await client.helpers.bulk({
      datasource: docs,
      onDocument: (d: Prebuilt) => [{ index: { _index: index, _id: d.id } }, d.json] as never,
      flushBytes: s.flushBytes,
      concurrency: s.concurrency,
      retries: 0,
    });
    await client.indices.putSettings({ index, body: { 'index.refresh_interval': '1s', 'index.number_of_replicas': '1' } } as never);
    await client.indices.refresh({ index });
    const seconds = (performance.now() - started) / 1000;
    const count = Number((await client.count({ index })).body.count);
    if (count !== docs.length) throw new Error(`ceiling index holds ${count} documents, expected ${docs.length}`);
    return { ...s, seconds, docs: docs.length, docsPerSecond: docs.length / seconds, failed: stats.failed };
  } finally {
    await client.indices.delete({ index }, { ignore: [404] }).catch(() => undefined);
    await client.close();
  }
}
