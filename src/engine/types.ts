import type { EngineKind } from '../config.js';

export interface BulkItemResult {
  id: string;
  /** 'index' or 'delete'. */
  action: string;
  status: number;
  error?: { type: string; reason: string };
}

export interface SearchHits {
  total: number;
  hits: Array<Record<string, unknown> & { score: number }>;
}

export interface IndexBody {
  settings?: Record<string, unknown>;
  mappings?: Record<string, unknown>;
}

/**
 * The one small interface the ETL needs from a search engine. Elasticsearch and
 * OpenSearch each implement it with their own official client, because each client's
 * product check refuses the other server.
 */
export interface SearchEngine {
  readonly kind: EngineKind;
  readonly version: string;
  /** Sends one pre-serialized NDJSON bulk body; returns one result per action, in order. */
  bulk(ndjson: string): Promise<BulkItemResult[]>;
  indexExists(index: string): Promise<boolean>;
  createIndex(index: string, body: IndexBody): Promise<void>;
  deleteIndex(index: string): Promise<void>;
  count(index: string): Promise<number>;
  refresh(index: string): Promise<void>;
  getIndexSettings(index: string): Promise<Record<string, unknown>>;
  putIndexSettings(index: string, settings: Record<string, unknown>): Promise<void>;
  search(index: string, body: Record<string, unknown>): Promise<SearchHits>;
  close(): Promise<void>;
}

/** A transport-level failure, normalized across both clients. */
export class EngineHttpError extends Error {
  constructor(
    message: string,
    readonly statusCode: number | undefined,
    readonly errorType: string | undefined,
  ) {
    super(message);
    this.name = 'EngineHttpError';
  }
  get retryable(): boolean {
    return this.statusCode === undefined || [429, 502, 503, 504].includes(this.statusCode);
  }
}
