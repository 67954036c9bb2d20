import type { CaptureContext } from '../capture/mode.js';
import { resolveConfig } from '../config/resolve.js';
import type { CommonFlags, Config } from '../config/types.js';
import { createDb, type Db } from '../db/knex.js';
import { assertRecordedCatalogue } from '../catalogue/recorded.js';
import { connectEngine } from '../engine/connect.js';
import type { SearchEngine } from '../engine/types.js';
import { createReporter, type Reporter } from './output.js';
import { settlesWithin, type RetryPolicy } from '../core/retry.js';

export interface GlobalFlags extends CommonFlags {
  json?: boolean;
  debug?: boolean;
  quiet?: boolean;
}

/** Closing clients is bounded: a frozen server must not keep a finished command alive. */
const CLOSE_BOUND_MS = 2_000;

/** Clients for one command, created on first use and closed once at the end. */
export class Context {
  readonly config: Config;
  readonly out: Reporter;
  /** The command's one retry policy: budget, log, and the stop signal. */
  readonly retry: RetryPolicy;
  private dbClient?: Db;
  private engineClient?: SearchEngine;
  private catalogueChecked?: Promise<void>;

  /** `adjust`: a command's own bounds over the common configuration (status --timeout). */
  constructor(flags: GlobalFlags, signal?: AbortSignal, env: NodeJS.ProcessEnv = process.env, adjust?: (c: Config) => Config) {
    const config = resolveConfig(flags, env);
    this.config = adjust ? adjust(config) : config;
    this.out = createReporter({ json: flags.json, quiet: flags.quiet });
    this.retry = { maxRetryTimeMs: this.config.maxRetryTimeMs, signal, log: (m) => this.out.warn(m) };
  }

  db(): Db {
    this.dbClient ??= createDb(this.config.databaseUrl, { timeouts: this.config.timeouts, log: (m) => this.out.warn(m) });
    return this.dbClient;
  }

  /** The engine client if one was connected, without waiting for one: what a result reports. */
  connectedEngine(): SearchEngine | undefined {
    return this.engineClient;
  }

  /** The engine client, connected on first use (a watch starting up tries with a policy of its own). */
  async engine(retry: RetryPolicy = this.retry): Promise<SearchEngine> {
    this.engineClient ??= await connectEngine(this.config.engine, retry);
    return this.engineClient;
  }

  /**
   * The database, once its recorded catalogue (the one `migrate` installed capture for) was found
   * to be this command's --schema and --catalogue: every command that reads or writes the catalogue.
   */
  async catalogueDb(): Promise<Db> {
    // A check that failed (PostgreSQL down) is made again next time, not remembered.
    this.catalogueChecked ??= assertRecordedCatalogue(this.db(), this.config.catalogue).catch((err: unknown) => {
      this.catalogueChecked = undefined;
      throw err;
    });
    await this.catalogueChecked;
    return this.db();
  }

  /** Where captured changes are (src/capture/): what runs and verify collect into the queues first. */
  capture(): CaptureContext {
    return { db: this.db(), databaseUrl: this.config.databaseUrl, timeouts: this.config.timeouts, catalogue: this.config.catalogue, names: this.config.names };
  }

  /** What every command that works on both servers takes: clients, URLs, bounds, indexes and the retry policy. */
  async servers() {
    return {
      db: await this.catalogueDb(),
      engine: await this.engine(),
      databaseUrl: this.config.databaseUrl,
      engineUrl: this.config.engine.url,
      timeouts: this.config.timeouts,
      indexes: this.config.indexes,
      retry: this.retry,
      capture: this.capture(),
    };
  }

  async close(): Promise<void> {
    this.out.done();
    await settlesWithin(CLOSE_BOUND_MS, Promise.allSettled([this.dbClient?.destroy(), this.engineClient?.close()]));
  }
}
