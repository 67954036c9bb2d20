import { resolveConfig, type CommonFlags, type Config } from './config.js';
import { createDb, type Db } from './db/knex.js';
import { connectEngine } from './engine/connect.js';
import type { SearchEngine } from './engine/types.js';
import { createReporter, type Reporter } from './output.js';

export interface GlobalFlags extends CommonFlags {
  json?: boolean;
  debug?: boolean;
  quiet?: boolean;
}

/** Clients for one command, created on first use and closed once at the end. */
export class Context {
  readonly config: Config;
  readonly out: Reporter;
  private dbClient?: Db;
  private engineClient?: SearchEngine;

  constructor(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env) {
    this.config = resolveConfig(flags, env);
    this.out = createReporter({ json: flags.json, quiet: flags.quiet });
  }

  db(): Db {
    this.dbClient ??= createDb(this.config.databaseUrl);
    return this.dbClient;
  }

  async engine(): Promise<SearchEngine> {
    this.engineClient ??= await connectEngine(this.config.engine, this.config.maxRetryTimeMs, (m) => this.out.warn(m));
    return this.engineClient;
  }

  async close(): Promise<void> {
    this.out.done();
    await Promise.allSettled([this.dbClient?.destroy(), this.engineClient?.close()]);
  }
}
