import type { IndexSpec } from '../indexes/spec.js';
import type { Catalogue } from '../catalogue/layout.js';
import type { Names } from '../catalogue/names.js';

/** The shapes of configuration every layer may read; resolve.ts fills them once, at the edge. */

export type EngineKind = 'elasticsearch' | 'opensearch';

export interface EngineConfig {
  url: string;
  /** How the user gave the URL (--es-url or ELASTICSEARCH_URL), for messages; ELASTICSEARCH_URL if unset. */
  urlName?: string;
  /** 'auto' asks the server's GET / which product it is. */
  engine: EngineKind | 'auto';
  /** How the user named the engine (--engine or MOVIES_ENGINE), for messages. */
  engineName?: string;
  apiKey?: string;
  username?: string;
  password?: string;
  caFile?: string;
  /** Bound on one HTTP request (including GET /), derived from the retry budget. */
  requestTimeoutMs: number;
}

/** Bounds on single waits; each is derived once, here, from --max-retry-time unless set. */
export interface Timeouts {
  /** Opening one PostgreSQL connection (or taking one from the pool). */
  connectMs: number;
  /** One SQL statement, enforced by the server (statement_timeout, lock_timeout) and by the client. */
  statementMs: number;
}

/** An index a command works on: its spec and the name users query it by (an alias, since migration 005). */
export interface IndexChoice {
  spec: IndexSpec;
  index: string;
}

export interface Config {
  databaseUrl: string;
  /** Where the catalogue lives and which names it has (--schema, --catalogue). */
  catalogue: Catalogue;
  /** The catalogue's SQL names, from `catalogue`. */
  names: Names;
  engine: EngineConfig;
  /** The film index's name (--index, or the prefix + "movies"). */
  index: string;
  /** The indexes this command works on (--only), with their names (--index-prefix). */
  indexes: IndexChoice[];
  indexPrefix: string;
  /** Bound on retrying unreachable servers and 429/503 answers. */
  maxRetryTimeMs: number;
  timeouts: Timeouts;
}

/** Flags shared by every command; commander fills them. */
export interface CommonFlags {
  databaseUrl?: string;
  schema?: string;
  catalogue?: string;
  esUrl?: string;
  engine?: string;
  index?: string;
  indexPrefix?: string;
  only?: string;
  maxRetryTime?: string;
  statementTimeout?: string;
}

/** How the catalogue's changes reach movies' queues (`movies migrate --capture`; src/capture/). */
export type CaptureName = 'triggers' | 'logical';
export const CAPTURE_NAMES: readonly CaptureName[] = ['triggers', 'logical'];

/** A bound on logical capture's slot: the WAL it keeps unread (bytes) and how long since movies last read it (seconds). */
export interface SlotLagLimit {
  bytes?: number;
  seconds?: number;
}
