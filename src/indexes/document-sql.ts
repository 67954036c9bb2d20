import type { ChangeQueue } from './spec.js';

/**
 * How PostgreSQL builds an index's documents, for the ids of a CTE named `page` (its column
 * `id`): the joins they need and the expression of each one's JSON text, null when its source
 * row is gone. One definition serves the ETL's pending pages and verify's hash pages, so that
 * what verify expects is by construction what the ETL sends.
 */
export interface DocumentSql {
  /** FROM page <joins>: LEFT JOINs, so that every id of the page yields a row. */
  joins: string;
  /** The document as JSON text (json_build_object(...)::text), or null. */
  expr: string;
}

/**
 * One statement that reads one target's pending range of `queue` (version in (after, last]) and
 * builds each document from the same snapshot (IndexSpec.pageSql).
 */
export const pendingPageSql = (queue: ChangeQueue, doc: DocumentSql): string => `
WITH page AS (
  SELECT ${queue.idColumn} AS id, version FROM content.${queue.table}
  WHERE target_id = :target AND version > :after AND version <= :last
)
SELECT page.id, page.version, ${doc.expr} AS doc
FROM page
${doc.joins}
ORDER BY page.version`;
