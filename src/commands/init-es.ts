import { readFileSync } from 'node:fs';
import type { Timeouts } from '../config.js';
import type { Db } from '../db/knex.js';
import type { RetryPolicy } from '../retry.js';
import { withPgRetry } from '../db/retry.js';
import type { IndexBody, SearchEngine } from '../engine/types.js';
import { EngineHttpError } from '../engine/types.js';
import { engineFailure } from '../engine/errors.js';
import { UnsupportedError, UsageError } from '../errors.js';
import { RunLock } from '../db/lock.js';
import { enqueue } from '../db/queue.js';
import type { IndexSpec } from '../indexes/spec.js';

export interface InitEsOptions {
  db: Db;
  engine: SearchEngine;
  databaseUrl: string;
  spec: IndexSpec;
  index: string;
  mappingPath?: string;
  timeouts: Timeouts;
  wait?: boolean;
  retry: RetryPolicy;
}

export interface InitEsResult {
  index: string;
  engine: string;
  version: string;
  mapping: string;
  pending: number;
}

export function readMapping(path: string): IndexBody {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read mapping file ${path}: ${(err as Error).message}`);
  }
  try {
    const body = JSON.parse(text) as IndexBody;
    if (!body || typeof body !== 'object' || !body.mappings) throw new Error('it has no "mappings" object');
    return body;
  } catch (err) {
    throw new UsageError(`mapping file ${path} is not a valid index definition: ${(err as Error).message}`);
  }
}

const MISSING_ANALYSIS = /(stemmer|unknown (filter|tokenizer|analyzer) type|failed to find (filter|tokenizer|analyzer))/i;

/**
 * Recreates the index and makes every film pending. Films are enqueued first, so a crash
 * between the two steps leaves more work pending, never less.
 */
export async function initEs(o: InitEsOptions): Promise<InitEsResult> {
  const mappingPath = o.mappingPath ?? o.spec.mappings.default!;
  const body = readMapping(mappingPath);
  const lock = await withPgRetry(() => RunLock.acquire(o.databaseUrl, o.timeouts, o.wait ?? false), o.retry);
  try {
    const pending = await withPgRetry(
      () =>
        o.db.transaction(async (trx) => {
          await trx('content.etl_saved_settings').where({ index_name: o.index }).delete();
          return enqueue(trx, o.spec.queue, o.spec.allIdsSql);
        }),
      o.retry,
    );
    try {
      await o.engine.deleteIndex(o.index);
      await o.engine.createIndex(o.index, body);
    } catch (err) {
      if (!(err instanceof EngineHttpError)) throw err;
      if (err.statusCode !== undefined && MISSING_ANALYSIS.test(err.message)) {
        throw new UnsupportedError(
          `the ${o.engine.kind} server at version ${o.engine.version} lacks the analysis module the mapping ` +
            `${mappingPath} needs (${err.message}). Install analysis-common/stemmer support, or pass a mapping ` +
            `without stemmers: --mapping mappings/movies.nostem.json`,
        );
      }
      throw engineFailure(err, `creating index "${o.index}"`);
    }
    return { index: o.index, engine: o.engine.kind, version: o.engine.version, mapping: mappingPath, pending };
  } finally {
    await lock.release();
  }
}
