import type { Db } from '../db/knex.js';
import { contentHashSql } from '../indexes/content-hash.js';
import type { IndexSpec } from '../indexes/spec.js';

/** A document the database says should exist, and the hash of its content. */
export interface Expected {
  id: string;
  hash: string;
}

/*
 * The documents that should exist, in keyset pages of id (primary key order; uuid order is the
 * order of their lowercase text, which is how the engine sorts the `id` keyword), each with the
 * hash of the document the ETL would build now: the same DocumentSql, hashed by PostgreSQL, so
 * that only ids and 32-character hashes leave the database.
 */
const pageSql = (spec: Pick<IndexSpec, 'allIdsSql' | 'document'>) => `
WITH page AS (
  SELECT id FROM (${spec.allIdsSql}) AS a(id) WHERE id > :after::uuid ORDER BY id LIMIT :limit
)
SELECT page.id::text AS id, ${contentHashSql(spec.document.expr)} AS hash
FROM page
${spec.document.joins}
ORDER BY page.id`;

/** One page of expected documents after `after` (the nil uuid for the first). */
export async function expectedPage(db: Db, spec: Pick<IndexSpec, 'allIdsSql' | 'document'>, after: string, limit: number): Promise<Expected[]> {
  return db.transaction(
    async (trx) => {
      // As for the ETL's pages (src/etl/extractor.ts): index lookups that JIT only slows down.
      await trx.raw('SET LOCAL jit = off');
      return (await trx.raw<{ rows: Expected[] }>(pageSql(spec), { after, limit })).rows;
    },
    { readOnly: true },
  );
}

/** What the database says now of some documents: each one's hash (null: it should not exist) and whether it is pending for the target. */
export interface Current {
  hash: string | null;
  pending: boolean;
}

const currentSql = (spec: Pick<IndexSpec, 'queue' | 'document'>) => `
WITH page AS (SELECT DISTINCT unnest(:ids::uuid[]) AS id)
SELECT page.id::text AS id, ${contentHashSql(spec.document.expr)} AS hash,
       EXISTS (SELECT 1 FROM content.${spec.queue.table} q
               WHERE q.target_id = :target AND q.${spec.queue.idColumn} = page.id) AS pending
FROM page
${spec.document.joins}`;

/**
 * The documents `ids` (uuids) as the database says they are now, in one statement: a writer
 * commits a change and its queue row together, so each document's hash and pending state come
 * from the same snapshot.
 */
export async function currentOf(db: Db, spec: Pick<IndexSpec, 'queue' | 'document'>, target: number, ids: string[]): Promise<Map<string, Current>> {
  const r = await db.raw<{ rows: Array<Current & { id: string }> }>(currentSql(spec), { ids, target });
  return new Map(r.rows.map((x) => [x.id, { hash: x.hash, pending: x.pending }]));
}
