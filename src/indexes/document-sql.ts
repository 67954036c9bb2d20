import type { ChangeQueue, DocumentSql } from './spec.js';

/**
 * One statement that reads one target's pending range of `queue` (version in (after, last]) and
 * builds each document from the same snapshot (IndexSpec.pageSql).
 */
export const pendingPageSql = (queue: ChangeQueue, doc: DocumentSql): string => `
WITH page AS (
  SELECT ${queue.idColumn} AS id, version FROM movies.${queue.table}
  WHERE target_id = :target AND version > :after AND version <= :last
)
SELECT page.id, page.version, ${doc.expr} AS doc
FROM page
${doc.joins}
ORDER BY page.version`;
