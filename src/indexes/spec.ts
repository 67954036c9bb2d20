import type { Names } from '../catalogue/names.js';

/**
 * One search index, everything that makes it: which documents exist, how one is built from the
 * catalogue, how it is validated and mapped, and where its pending changes queue up. The ETL
 * (src/etl/) is generic over this; each index lives in src/indexes/<name>/ and exports one spec.
 */
export interface IndexDefinition<Doc = unknown> {
  /** Logical name (movies, genres, persons): the default index name, after any prefix. */
  readonly name: string;
  /** What one document is about, in messages ("film 1234… is invalid"); default "document". */
  readonly noun?: string;
  /** Where capture triggers queue this index's pending documents: (id, version) per document. */
  readonly queue: ChangeQueue;
  /** Its statements on a catalogue, with the catalogue's names (src/catalogue/). */
  sql(n: Names): IndexSql;
  /** JSON schema every document must satisfy before it is sent. */
  readonly schemaPath: string;
  /** Shipped mappings by name; `default` is required. */
  readonly mappings: Readonly<Record<string, string>>;
  /** Full-text fields for `movies search`, with boosts. */
  readonly searchFields: readonly string[];
  /** Phantom: the shape of this index's documents. */
  readonly doc?: Doc;
}

/** An index's statements on one catalogue. */
export interface IndexSql {
  /** How PostgreSQL builds each document as JSON text; `Doc` is the shape that text has. */
  readonly document: DocumentSql;
  /**
   * One statement that reads one target's pending range (target_id = :target AND version > :after
   * AND version <= :last) of the queue and builds each document from the same snapshot, as JSON
   * text (PendingRow): pendingPageSql(queue, document).
   */
  readonly pageSql: string;
  /** One column of every document id that should exist (init-es makes them all pending). */
  readonly allIdsSql: string;
}

/** An index bound to the catalogue of this run (Config.indexes): its definition and its statements. */
export type IndexSpec<Doc = unknown> = IndexDefinition<Doc> & IndexSql;

export function bindIndex<Doc>(def: IndexDefinition<Doc>, n: Names): IndexSpec<Doc> {
  return { ...def, ...def.sql(n) };
}

/** A pending document as the page query returns it. */
export interface PendingRow {
  id: string;
  version: number;
  /**
   * The document as JSON text, built by PostgreSQL in the page query; null when the source row
   * no longer exists, and its document must be deleted. It is parsed once to be validated and
   * sent as it is: building the object in JavaScript and serializing it again made the CLI's
   * receive-and-build cost ~34 µs per film instead of ~17 (measured over 20,000 films).
   */
  doc: string | null;
}

export interface ChangeQueue {
  /** movies.<table>(<idColumn> uuid primary key, version bigint, changed_at timestamptz). */
  readonly table: string;
  readonly idColumn: string;
  /** Where rejected documents are recorded (start-etl --skip-invalid): (<idColumn>, version, field, rule, reason, rejected_at). */
  readonly rejectedTable: string;
}

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
