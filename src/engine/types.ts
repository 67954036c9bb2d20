import type { EngineKind } from '../config/types.js';

export interface BulkItemResult {
  id: string;
  /** The concrete index the engine says the item went to ('' when it does not say). */
  index: string;
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
  aliases?: Record<string, Record<string, never>>;
}

/** The cluster's health (GET _cluster/health): what an operator needs to see of a multi-node cluster. */
export interface ClusterHealth {
  status: 'green' | 'yellow' | 'red';
  nodes: number;
  dataNodes: number;
  unassignedShards: number;
}

/**
 * What a name is on the engine: an alias (and the indexes it points to), a concrete index (open
 * or closed, and the aliases that point to it), or nothing.
 */
export type NameState = { kind: 'alias'; indices: string[] } | { kind: 'index'; open: boolean; aliases: string[] } | { kind: 'missing' };

/** One action of an atomic `_aliases` call. */
export type AliasAction =
  | { add: { index: string; alias: string } }
  | { remove: { index: string; alias: string; must_exist: true } }
  | { remove_index: { index: string } };

/** What `movies verify` reads of one document: its _id, its `id` field and its content hash, when it has them. */
export interface DocStamp {
  _id: string;
  id?: string;
  hash?: string;
  /** The document without its hash, when asked for (verify --deep). */
  source?: Record<string, unknown>;
}

/** Which field holds the content hash, and whether the whole _source is wanted too (verify --deep). */
export interface StampOptions {
  hashField: string;
  source?: boolean;
}

export interface BulkOptions {
  /** Refuse actions whose _index is not an alias, instead of creating an index (require_alias). */
  requireAlias: boolean;
}

/**
 * The one small interface the ETL needs from a search engine. Elasticsearch and
 * OpenSearch each implement it with their own official client, because each client's
 * product check refuses the other server.
 */
export interface SearchEngine {
  readonly kind: EngineKind;
  readonly version: string;
  /** The cluster's uuid (GET /): with an alias, it names a target. */
  readonly cluster: string;
  /** Sends one pre-serialized NDJSON bulk body; returns one result per action, in order. */
  bulk(ndjson: string, options: BulkOptions): Promise<BulkItemResult[]>;
  /** What `name` is: an alias, a concrete index (whether it is open, which aliases it has), or missing. */
  nameState(name: string): Promise<NameState>;
  /** Applies all actions at once, or none (the engine's `_aliases` API). */
  updateAliases(actions: AliasAction[]): Promise<void>;
  indexExists(index: string): Promise<boolean>;
  createIndex(index: string, body: IndexBody): Promise<void>;
  deleteIndex(index: string): Promise<void>;
  count(index: string): Promise<number>;
  clusterHealth(): Promise<ClusterHealth>;
  refresh(index: string): Promise<void>;
  getIndexSettings(index: string): Promise<Record<string, unknown>>;
  putIndexSettings(index: string, settings: Record<string, unknown>): Promise<void>;
  search(index: string, body: Record<string, unknown>): Promise<SearchHits>;
  /** Adds fields to an index's mapping (PUT _mapping): the same definition again changes nothing. */
  putMapping(index: string, properties: Record<string, unknown>): Promise<void>;
  /** Up to `size` documents with an `id` field, sorted by it, after `after`: ids and hashes only (src/engine/stamps.ts). */
  stamps(index: string, o: StampOptions & { after?: string; size: number }): Promise<DocStamp[]>;
  /** Documents without an `id` field: how many, and the first `size` of them. */
  unkeyedStamps(index: string, o: StampOptions & { size: number }): Promise<{ total: number; stamps: DocStamp[] }>;
  /** The named documents that exist, read in real time (also what is not refreshed yet). */
  getStamps(index: string, ids: string[], o: StampOptions): Promise<DocStamp[]>;
  close(): Promise<void>;
}

/** A transport-level failure, normalized across both clients. */
export class EngineHttpError extends Error {
  constructor(
    message: string,
    readonly statusCode: number | undefined,
    readonly errorType: string | undefined,
    /** The engine answered, but its answer could not be read whole (cut short, not JSON). */
    readonly malformed = false,
  ) {
    super(message);
    this.name = 'EngineHttpError';
  }
  get retryable(): boolean {
    return this.malformed || this.statusCode === undefined || [429, 502, 503, 504].includes(this.statusCode);
  }
}
