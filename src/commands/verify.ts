import type { IndexChoice } from '../config/types.js';
import type { Db } from '../db/knex.js';
import { withPgRetry } from '../db/retry.js';
import { withEngineRetry } from '../engine/errors.js';
import type { SearchEngine } from '../engine/types.js';
import { DriftError } from '../core/errors.js';
import { aliasKey, destinationFor } from '../lifecycle/resolve.js';
import type { RetryPolicy } from '../core/retry.js';
import { verifyTarget, type TargetVerify } from '../verify/run.js';
import type { CaptureContext } from '../capture/mode.js';
import { collectAll } from '../capture/modes.js';
import type { OnProgress } from '../core/progress.js';

export interface VerifyCommandOptions {
  db: Db;
  engine: SearchEngine;
  engineUrl: string;
  indexes: IndexChoice[];
  pageSize: number;
  repair: boolean;
  /** Compare whole documents, not only the stored hashes. */
  deep?: boolean;
  retry: RetryPolicy;
  /** Captured changes are collected into the queues before each reading of them (logical capture: the slot). */
  capture: CaptureContext;
  /** Told each index's steps as they begin and how far the comparison is (scope: the index's alias). */
  progress?: OnProgress;
}

/** One alias's live target, verified. */
export type IndexVerify = TargetVerify & { index: string; name: string };

export interface VerifyResult {
  engine: string;
  /** Drifted documents over every index (missing + stale + orphan). */
  drift: number;
  indexes: Record<string, IndexVerify>;
}

/**
 * Verifies the live target of each alias on the connected cluster: another cluster's target (or
 * an index being rebuilt) is verified by running verify against it.
 */
export async function verify(o: VerifyCommandOptions): Promise<VerifyResult> {
  const indexes: Record<string, IndexVerify> = {};
  for (const t of o.indexes) {
    const key = aliasKey(o.engine, t, o.engineUrl);
    const { target, dest } = await withEngineRetry('reading the alias', () => withPgRetry(() => destinationFor(o.db, o.engine, key), o.retry), o.retry);
    const r = await verifyTarget({
      db: o.db,
      engine: o.engine,
      spec: t.spec,
      target: target.id,
      physical: dest.physical,
      pageSize: o.pageSize,
      repair: o.repair,
      deep: o.deep,
      retry: o.retry,
      collect: () => collectAll({ ...o.capture, signal: o.retry.signal }),
      progress: (x) => o.progress?.({ ...x, scope: t.index }),
    });
    indexes[t.spec.name] = { ...r, index: t.index, name: t.spec.name };
  }
  const drift = Object.values(indexes).reduce((a, r) => a + r.drift, 0);
  return { engine: `${o.engine.kind} ${o.engine.version}`, drift, indexes };
}

/** The exit code's reason, after the report is printed: drift found (repaired or not). */
export function driftProblem(r: VerifyResult): DriftError | undefined {
  if (r.drift === 0) return undefined;
  const repaired = Object.values(r.indexes).some((x) => x.repaired);
  return new DriftError(
    `${r.drift.toLocaleString('en')} document(s) differ from the database` +
      (repaired ? '; they are pending now: run `movies start-etl` to repair them' : '; `movies verify --repair` makes them pending for start-etl'),
  );
}
