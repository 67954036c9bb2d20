import type { Db } from '../db/knex.js';
import type { ClusterHealth, SearchEngine } from '../engine/types.js';
import {
  ConnectionError,
  FilmsRejectedError,
  IndexMissingError,
  LastRunFailedError,
  type MoviesError,
} from '../core/errors.js';
import { aliasLock, isLockHeld } from '../db/lock.js';
import { targetQueues } from '../db/queue-stats.js';
import { allTargets, type TargetRow } from '../db/targets.js';
import type { IndexSpec } from '../indexes/spec.js';
import { viewAlias } from '../lifecycle/resolve.js';

export interface RejectedFilm {
  id: string;
  version: number;
  field: string;
  rule: string;
  reason: string;
  rejectedAt: string;
}

/** One target of the index (any cluster, any state) with its own pending documents and last run. */
export type TargetStatus = Pick<TargetRow, 'id' | 'cluster' | 'alias' | 'physical' | 'state' | 'engine' | 'url'> & {
  /** Rows in the queue for this target: documents to index or delete. */
  pending: number;
  /** Age of its oldest pending change (0 when none): a target nobody runs ages without bound. */
  oldestChangeSeconds: number;
  lastRun: null | { outcome: string; finishedAt: string | null };
};

export interface StatusResult {
  /** The index's logical name (movies, genres, persons) and the engine's name for it (the alias). */
  name: string;
  index: string;
  /** The concrete index the alias points to, as this database records it (null: no target here). */
  physical: string | null;
  films: number;
  pending: number;
  /** Age of the oldest of those pending changes, from the database whatever the engine does (0 when none). */
  oldestChangeSeconds: number;
  /** Films deleted from the catalogue whose documents are still to be removed. */
  pendingDeletes: number;
  /** Films left out by start-etl --skip-invalid, until they change again. */
  rejected: number;
  /** The most recent rejections (at most REJECTED_SHOWN). */
  rejectedFilms: RejectedFilm[];
  running: boolean;
  lastRun: null | {
    startedAt: string;
    finishedAt: string | null;
    outcome: string;
    indexed: number;
    deleted: number;
    rejected: number;
    error: string | null;
  };
  engine: { kind: string; version: string; documents: number | null; cluster: ClusterHealth | null; error?: string };
  /** Every target of this index in the database: this cluster's and any other's. */
  targets: TargetStatus[];
  /** What monitoring should know, in one word; the exit code says the same. */
  health: 'ok' | 'unreachable' | 'cluster-red' | 'index-missing' | 'last-run-failed' | 'films-rejected';
}

export interface StatusOptions {
  db: Db;
  /** Null when the engine could not be reached: status still reports the database side. */
  engine: SearchEngine | null;
  engineError?: string;
  spec: IndexSpec;
  index: string;
}

export const REJECTED_SHOWN = 20;

interface RunRow {
  target_id: number | null;
  started_at: Date;
  finished_at: Date | null;
  outcome: string;
  indexed: string;
  deleted: string;
  rejected: string;
  error: string | null;
}

/** The target this status is about: the alias's live target on the connected cluster (any cluster when unreachable). */
function targetHere(targets: TargetRow[], alias: string, cluster: string | undefined): TargetRow | undefined {
  const live = targets.filter((t) => t.state === 'live' && t.alias === alias);
  return cluster ? live.find((t) => t.cluster === cluster) : live.length === 1 ? live[0] : undefined;
}

export async function status(o: StatusOptions): Promise<StatusResult> {
  const q = o.spec.queue;
  // A swap or rollback killed between moving the alias and recording it: the engine says which
  // index serves, and viewAlias records it, as the next init-es or start-etl would. An engine
  // that cannot answer is reported below.
  if (o.engine) await viewAlias(o.db, o.engine, { cluster: o.engine.cluster, alias: o.index }).catch(() => undefined);
  const targets = (await allTargets(o.db)).filter((t) => t.indexName === o.spec.name);
  // Before the first run after an upgrade, an earlier version's queue is not claimed by any cluster yet.
  const here = targetHere(targets, o.index, o.engine?.cluster) ?? targets.find((t) => t.cluster === null);
  const queues = new Map((await targetQueues(o.db, q, o.spec.name)).map((x) => [x.target, x]));
  const counts = await o.db.raw<{ rows: Array<{ films: number; pending_deletes: number; rejected: number }> }>(
    `
    SELECT (SELECT count(*)::int FROM (${o.spec.allIdsSql}) s) AS films,
           (SELECT count(*)::int FROM movies.${q.table} c WHERE c.target_id = :target
             AND NOT EXISTS (SELECT 1 FROM (${o.spec.allIdsSql}) s(id) WHERE s.id = c.${q.idColumn})) AS pending_deletes,
           (SELECT count(*)::int FROM movies.${q.rejectedTable}) AS rejected`,
    { target: here?.id ?? -1 },
  );
  const rejectedRows = await o.db(`movies.${q.rejectedTable}`).orderBy('rejected_at', 'desc').limit(REJECTED_SHOWN);
  const lastRuns = await lastRunByTarget(o.db, targets.map((t) => t.id));
  const last = here ? lastRuns.get(here.id) : undefined;
  // A one-shot run, or a watch between two of its cycles.
  const running = here?.cluster
    ? (await isLockHeld(o.db, aliasLock('run', here.cluster, o.index))) || (await isLockHeld(o.db, aliasLock('watch', here.cluster, o.index)))
    : false;
  let documents: number | null = null;
  let cluster: ClusterHealth | null = null;
  let missing = false;
  let error = o.engineError;
  try {
    if (o.engine) {
      // A key with index privileges only may not read cluster health: the line then says unknown,
      // and status judges the index as it did before it showed the cluster.
      cluster = await o.engine.clusterHealth().catch(() => null);
      missing = !(await o.engine.indexExists(o.index));
      if (missing) error = `index "${o.index}" does not exist`;
      else documents = await o.engine.count(o.index);
    }
  } catch (err) {
    error = (err as Error).message;
  }
  if (!here && !missing && !error) {
    missing = true;
    error = `"${o.index}" on this cluster is not a target of this database: nothing keeps the index it serves in step (as after \`movies targets drop\`); run \`movies init-es\``;
  }
  const c = counts.rows[0]!;
  // A 'running' row with no lock holder is a run that was killed.
  const outcome = last ? (last.outcome === 'running' && !running ? 'interrupted' : String(last.outcome)) : null;
  const health: StatusResult['health'] =
    !o.engine || (error && !missing)
      ? 'unreachable'
      : missing
        ? 'index-missing'
        : cluster?.status === 'red'
          ? 'cluster-red'
          : outcome === 'failed' || outcome === 'interrupted'
            ? 'last-run-failed'
            : c.rejected > 0
              ? 'films-rejected'
              : 'ok';
  return {
    name: o.spec.name,
    index: o.index,
    physical: here?.physical ?? null,
    films: c.films,
    pending: here ? (queues.get(here.id)?.rows ?? 0) : 0,
    oldestChangeSeconds: here ? (queues.get(here.id)?.oldestChangeSeconds ?? 0) : 0,
    pendingDeletes: c.pending_deletes,
    rejected: c.rejected,
    rejectedFilms: rejectedRows.map((r) => ({
      id: r[q.idColumn],
      version: Number(r.version),
      field: r.field,
      rule: r.rule,
      reason: r.reason,
      rejectedAt: new Date(r.rejected_at).toISOString(),
    })),
    running,
    lastRun: last
      ? {
          startedAt: new Date(last.started_at).toISOString(),
          finishedAt: last.finished_at ? new Date(last.finished_at).toISOString() : null,
          outcome: outcome!,
          indexed: Number(last.indexed),
          deleted: Number(last.deleted),
          rejected: Number(last.rejected),
          error: last.error,
        }
      : null,
    engine: { kind: o.engine?.kind ?? 'unknown', version: o.engine?.version ?? 'unknown', documents, cluster, ...(error ? { error } : {}) },
    targets: targets.map((t) => {
      const run = lastRuns.get(t.id);
      return {
        id: t.id,
        cluster: t.cluster,
        alias: t.alias,
        physical: t.physical,
        state: t.state,
        engine: t.engine,
        url: t.url,
        pending: queues.get(t.id)?.rows ?? 0,
        oldestChangeSeconds: queues.get(t.id)?.oldestChangeSeconds ?? 0,
        lastRun: run ? { outcome: run.outcome, finishedAt: run.finished_at ? new Date(run.finished_at).toISOString() : null } : null,
      };
    }),
    health,
  };
}

/** The most recent run of each target. */
async function lastRunByTarget(db: Db, ids: number[]): Promise<Map<number, RunRow>> {
  const rows = (await db.raw<{ rows: RunRow[] }>(
    `SELECT DISTINCT ON (target_id) * FROM movies.etl_run WHERE target_id = ANY(?::int[]) ORDER BY target_id, id DESC`,
    [ids],
  )).rows;
  return new Map(rows.map((r) => [Number(r.target_id), r]));
}

/** The error whose exit code tells monitoring what `status` found; undefined when all is well. */
export function statusProblem(r: StatusResult): MoviesError | undefined {
  switch (r.health) {
    case 'unreachable':
      return new ConnectionError(r.engine.error ?? 'search engine unreachable');
    case 'cluster-red':
      return new ConnectionError(`the cluster is red: ${r.engine.cluster?.unassignedShards ?? '?'} shards unassigned, so some documents can be neither searched nor written`);
    case 'index-missing':
      // An alias that serves with no target here (a dropped one) exists: say so, not "does not exist".
      return new IndexMissingError(r.engine.documents !== null && r.engine.error ? r.engine.error : `index "${r.index}" does not exist; run \`movies init-es\``);
    case 'last-run-failed':
      return new LastRunFailedError(`the last run ${r.lastRun?.outcome}: ${r.lastRun?.error ?? 'no error recorded'}`);
    case 'films-rejected':
      return new FilmsRejectedError(`${r.rejected} films are rejected and not indexed until they change (see status)`);
    default:
      return undefined;
  }
}

const SEVERITY: StatusResult['health'][] = ['ok', 'films-rejected', 'last-run-failed', 'cluster-red', 'index-missing', 'unreachable'];

/**
 * Several indexes: the first one's fields at the top (the film index by default, as before),
 * every index under `indexes`, and the worst health of all, which decides the exit code.
 */
export function combineStatus(results: StatusResult[]): StatusResult & { indexes: Record<string, StatusResult> } {
  const worst = results.reduce((a, b) => (SEVERITY.indexOf(b.health) > SEVERITY.indexOf(a.health) ? b : a));
  return { ...results[0]!, health: worst.health, indexes: Object.fromEntries(results.map((r) => [r.name, r])) };
}

/** The problem of the worst index, for the exit code. */
export function combinedProblem(results: StatusResult[]): MoviesError | undefined {
  for (const h of [...SEVERITY].reverse()) {
    const r = results.find((x) => x.health === h);
    if (r && h !== 'ok') return statusProblem(r);
  }
  return undefined;
}
