import { readFileSync } from 'node:fs';
import type { IndexChoice, Timeouts } from '../config/types.js';
import type { Db } from '../db/knex.js';
import type { RetryPolicy } from '../core/retry.js';
import type { IndexBody, SearchEngine } from '../engine/types.js';
import { UsageError } from '../core/errors.js';
import type { OnProgress } from '../core/progress.js';
import { resolveMappingPath } from '../indexes/mapping.js';
import { rebuild, type RebuildResult } from '../lifecycle/rebuild.js';
import { aliasKey } from '../lifecycle/resolve.js';
import type { CaptureContext } from '../capture/mode.js';
import { collectAll, recoverAll } from '../capture/modes.js';
import { withPgRetry } from '../db/retry.js';

export interface InitEsOptions {
  db: Db;
  engine: SearchEngine;
  databaseUrl: string;
  /** The engine URL, recorded (redacted) with each target for status. */
  engineUrl: string;
  /** The indexes to rebuild, in order. */
  indexes: IndexChoice[];
  /** A shipped mapping's name (default, nostem) or, with one index, a file. */
  mapping?: string;
  /** Previous indexes kept per alias for `movies rollback`. */
  keep: number;
  batchSize: number;
  concurrency: number;
  skipInvalid?: boolean;
  timeouts: Timeouts;
  wait?: boolean;
  retry: RetryPolicy;
  /** Told each index's steps as they begin and how far each is (scope: the index's alias). */
  progress?: OnProgress;
  /** Capture, made whole first if it lost changes (a lost replication slot). */
  capture: CaptureContext;
}

export type InitEsIndex = RebuildResult & {
  /** The alias users query (kept as `index` for scripts written against earlier versions). */
  index: string;
  /** The index's logical name (movies, genres, persons). */
  name: string;
  engine: string;
  version: string;
  mapping: string;
};

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

/**
 * Rebuilds each index aside and moves its alias to the new index (src/lifecycle/rebuild.ts):
 * searches keep being answered by the old index until the swap, and a failure leaves it in place.
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
  // A lost slot is recovered by a rebuild of every index this database keeps (has targets for).
  const kept = await withPgRetry(() => o.db('movies.etl_target').distinct('index_name'), o.retry);
  const everyIndex = (kept as Array<{ index_name: string }>).every((k) => o.indexes.some((t) => t.spec.name === k.index_name));
  o.progress?.({ phase: 'checking change capture' });
  await withPgRetry(() => recoverAll(o.capture, everyIndex), o.retry);
  const indexes: InitEsIndex[] = [];
  for (const p of plans) {
    const r = await rebuild({
      collect: () => collectAll({ ...o.capture, signal: o.retry.signal }),
      ...o,
      key: aliasKey(o.engine, p, o.engineUrl),
      spec: p.spec,
      body: p.body,
      mappingPath: p.mappingPath,
      progress: (x) => o.progress?.({ ...x, scope: p.index }),
    });
    indexes.push({ ...r, index: p.index, name: p.spec.name, engine: o.engine.kind, version: o.engine.version, mapping: p.mappingPath });
  }
  return { ...indexes[0]!, indexes };
}
