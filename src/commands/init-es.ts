import { readFileSync } from 'node:fs';
import type { IndexChoice, Timeouts } from '../config.js';
import type { Db } from '../db/knex.js';
import type { RetryPolicy } from '../retry.js';
import { withPgRetry } from '../db/retry.js';
import type { IndexBody, SearchEngine } from '../engine/types.js';
import { EngineHttpError } from '../engine/types.js';
import { engineFailure } from '../engine/errors.js';
import { UnsupportedError, UsageError } from '../errors.js';
import { RunLock } from '../db/lock.js';
import { enqueue } from '../db/queue.js';
import { resolveMappingPath } from '../indexes/mapping.js';
import type { IndexSpec } from '../indexes/spec.js';

export interface InitEsOptions {
  db: Db;
  engine: SearchEngine;
  databaseUrl: string;
  /** The indexes to recreate, in order, under one run lock. */
  indexes: IndexChoice[];
  /** A shipped mapping's name (default, nostem) or, with one target, a file. */
  mapping?: string;
  timeouts: Timeouts;
  wait?: boolean;
  retry: RetryPolicy;
}

export interface InitEsIndex {
  index: string;
  /** The index's logical name (movies, genres, persons). */
  name: string;
  engine: string;
  version: string;
  mapping: string;
  pending: number;
}

/** The first index's fields (the film index by default) and every index's. */
export type InitEsResult = InitEsIndex & { indexes: InitEsIndex[] };

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
 * Recreates each index and makes all its documents pending. Documents are enqueued first, so a
 * crash between the two steps leaves more work pending, never less.
 */
export async function initEs(o: InitEsOptions): Promise<InitEsResult> {
  // Every mapping is read and checked before anything is changed.
  const plans = o.indexes.map((t) => {
    const mappingPath = resolveMappingPath(t.spec, o.mapping);
    return { ...t, mappingPath, body: readMapping(mappingPath) };
  });
  if (o.indexes.length > 1 && o.mapping && !plans.every((p) => Object.values(p.spec.mappings).includes(p.mappingPath))) {
    throw new UsageError('--mapping <file> fits one index: add --only <index>, or pass a shipped mapping name (default, nostem)');
  }
  const lock = await withPgRetry(() => RunLock.acquire(o.databaseUrl, o.timeouts, o.wait ?? false), o.retry);
  try {
    const indexes: InitEsIndex[] = [];
    for (const p of plans) indexes.push(await recreate(o, p.spec, p.index, p.mappingPath, p.body));
    const first = indexes[0]!;
    return { ...first, pending: indexes.reduce((n, i) => n + i.pending, 0), indexes };
  } finally {
    await lock.release();
  }
}

async function recreate(o: InitEsOptions, spec: IndexSpec, index: string, mappingPath: string, body: IndexBody): Promise<InitEsIndex> {
  const pending = await withPgRetry(
    () =>
      o.db.transaction(async (trx) => {
        await trx('content.etl_saved_settings').where({ index_name: index }).delete();
        return enqueue(trx, spec.queue, spec.allIdsSql);
      }),
    o.retry,
  );
  try {
    await o.engine.deleteIndex(index);
    await o.engine.createIndex(index, body);
  } catch (err) {
    if (!(err instanceof EngineHttpError)) throw err;
    if (err.statusCode !== undefined && MISSING_ANALYSIS.test(err.message)) {
      throw new UnsupportedError(
        `the ${o.engine.kind} server at version ${o.engine.version} lacks the analysis module the mapping ` +
          `${mappingPath} needs (${err.message}). Install analysis-common/stemmer support, or pass a mapping ` +
          `without stemmers: --mapping nostem`,
      );
    }
    throw engineFailure(err, `creating index "${index}"`);
  }
  return { index, name: spec.name, engine: o.engine.kind, version: o.engine.version, mapping: mappingPath, pending };
}
