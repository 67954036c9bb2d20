import type { Db } from '../db/knex.js';
import { contentHashSql } from '../indexes/content-hash.js';
import type { IndexSpec } from '../indexes/spec.js';
import { expectedFingerprint } from './fingerprint.js';

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
const pageSql = (spec: Pick<IndexSpec, 'allIdsSql' | 'document'>, deep: boolean) => `
WITH page AS (
  SELECT id FROM (${spec.allIdsSql}) AS a(id) WHERE id > :after::uuid ORDER BY id LIMIT :limit
)
SELECT page.id::text AS id, ${hashOrDoc(spec, deep)}
FROM page
${spec.document.joins}
ORDER BY page.id`;

/*
 * With `deep` (verify --deep), the documents themselves leave the database and the CLI makes
 * their fingerprint (fingerprint.ts); otherwise PostgreSQL sends only the hash.
 */
const hashOrDoc = (spec: Pick<IndexSpec, 'document'>, deep: boolean) =>
  deep ? `${spec.document.expr} AS doc` : `${contentHashSql(spec.document.expr)} AS hash`;

type Row = { id: string; hash?: string | null; doc?: string | null };
const hashOf = (r: Row): string | null => (r.doc !== undefined ? (r.doc === null ? null : expectedFingerprint(r.doc)) : (r.hash ?? null));

/** One page of expected documents after `after` (the nil uuid for the first). */
export async function expectedPage(db: Db, spec: Pick<IndexSpec, 'allIdsSql' | 'document'>, after: string, limit: number, deep = false): Promise<Expected[]> {
  const rows = await db.transaction(
    async (trx) => {
      // As for the ETL's pages (src/etl/extractor.ts): index lookups that JIT only slows down.
      await trx.raw('SET LOCAL jit = off');
      return (await trx.raw<{ rows: Row[] }>(pageSql(spec, deep), { after, limit })).rows;
    },
    { readOnly: true },
  );
  return rows.map((r) => ({ id: r.id, hash: hashOf(r) ?? '' }));
}

/** What the database says now of some documents: each one's hash (null: it should not exist) and whether it is pending for the target. */
export interface Current {
  hash: string | null;
  pending: boolean;
}

const currentSql = (spec: Pick<IndexSpec, 'queue' | 'document'>, deep: boolean) => `
WITH page AS (SELECT DISTINCT unnest(:ids::uuid[]) AS id)
SELECT page.id::text AS id, ${hashOrDoc(spec, deep)},
       EXISTS (SELECT 1 FROM movies.${spec.queue.table} q
               WHERE q.target_id = :target AND q.${spec.queue.idColumn} = page.id) AS pending
FROM page
${spec.document.joins}`;

/**
 * The documents `ids` (uuids) as the database says they are now, in one statement: with trigger
 * capture a writer commits a change and its queue row together, so each document's hash and
 * pending state come from the same snapshot (logical capture queues it later: see run.ts).
 */
export async function currentOf(
  db: Db,
  spec: Pick<IndexSpec, 'queue' | 'document'>,
  target: number,
  ids: string[],
  deep = false,
): Promise<Map<string, Current>> {
  const r = await db.raw<{ rows: Array<Row & { pending: boolean }> }>(currentSql(spec, deep), { ids, target });
  return new Map(r.rows.map((x) => [x.id, { hash: hashOf(x), pending: x.pending }]));
}

/** Which of `ids` are pending for the target now. */
export async function pendingOf(db: Db, spec: Pick<IndexSpec, 'queue'>, target: number, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const r = await db.raw<{ rows: Array<{ id: string }> }>(
    `SELECT q.${spec.queue.idColumn}::text AS id FROM movies.${spec.queue.table} q WHERE q.target_id = :target AND q.${spec.queue.idColumn} = ANY (:ids::uuid[])`,
    { ids, target },
  );
  return r.rows.map((x) => x.id);
}
