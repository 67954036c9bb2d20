import type { Db } from './knex.js';
import type { LockName } from './lock.js';

/**
 * A target: one concrete index on one engine cluster, with its own pending documents in its
 * index's queue (migration 005). `alias` is the name users query; `state` says whether the
 * alias points to it (live), init-es is filling it aside (building), or it is the previous
 * live index, kept for rollback (kept). `liveSince` orders an alias's targets by when each last
 * served: its serving history (migration 008).
 */
export interface TargetRow {
  id: number;
  /** The logical index: movies, genres or persons. */
  indexName: string;
  /** The engine cluster's uuid; null for an earlier version's index not yet claimed. */
  cluster: string | null;
  alias: string | null;
  physical: string | null;
  state: 'live' | 'building' | 'kept';
  /** "opensearch 3.8.0" and the redacted URL, as last seen, for status. */
  engine: string | null;
  url: string | null;
  createdAt: string;
  /** When the alias last came to point to it (null: it never served). */
  liveSince: string | null;
}

interface RawRow {
  id: number;
  index_name: string;
  cluster: string | null;
  alias: string | null;
  physical: string | null;
  state: TargetRow['state'];
  engine: string | null;
  url: string | null;
  created_at: Date;
  live_since: Date | null;
}

const fromRow = (r: RawRow): TargetRow => ({
  id: Number(r.id),
  indexName: r.index_name,
  cluster: r.cluster,
  alias: r.alias,
  physical: r.physical,
  state: r.state,
  engine: r.engine,
  url: r.url,
  createdAt: new Date(r.created_at).toISOString(),
  liveSince: r.live_since ? new Date(r.live_since).toISOString() : null,
});

const TABLE = 'movies.etl_target';

/** One alias on one cluster, and how the engine was reached (for status). */
export interface AliasKey {
  indexName: string;
  cluster: string;
  alias: string;
  engine: string;
  url: string;
}

/** Every target of an alias on a cluster, newest first. */
export async function targetsOf(db: Db, key: Pick<AliasKey, 'cluster' | 'alias'>): Promise<TargetRow[]> {
  const rows = await db(TABLE).where({ cluster: key.cluster, alias: key.alias }).orderBy('id', 'desc');
  return (rows as RawRow[]).map(fromRow);
}

/**
 * The kept targets among `targets`, in the alias's serving history: the one that served last
 * first. Rollback goes to the first; init-es keeps the first --keep and prunes the rest.
 */
export function keptByHistory(targets: TargetRow[]): TargetRow[] {
  const since = (t: TargetRow) => (t.liveSince ? Date.parse(t.liveSince) : Number.NEGATIVE_INFINITY);
  return targets.filter((t) => t.state === 'kept').sort((a, b) => since(b) - since(a) || b.id - a.id);
}

export async function liveTarget(db: Db, key: Pick<AliasKey, 'cluster' | 'alias'>): Promise<TargetRow | undefined> {
  return (await targetsOf(db, key)).find((t) => t.state === 'live');
}

export async function allTargets(db: Db): Promise<TargetRow[]> {
  return ((await db(TABLE).orderBy('id')) as RawRow[]).map(fromRow);
}

export async function getTarget(db: Db, id: number): Promise<TargetRow | undefined> {
  const row = (await db(TABLE).where({ id }).first()) as RawRow | undefined;
  return row ? fromRow(row) : undefined;
}

/** The targets of any alias on a cluster whose concrete index is `physical`. */
export async function targetsWithPhysical(db: Db, cluster: string, physical: string): Promise<TargetRow[]> {
  return ((await db(TABLE).where({ cluster, physical })) as RawRow[]).map(fromRow);
}

/**
 * An earlier version's queue for this index becomes the target of `key`, whose alias name is
 * still the concrete index that version created. Only one run can claim it.
 */
export async function claimUnclaimed(db: Db, key: AliasKey): Promise<TargetRow | undefined> {
  const rows = (await db(TABLE)
    .whereNull('cluster')
    .where({ index_name: key.indexName })
    .update({ cluster: key.cluster, alias: key.alias, physical: key.alias, engine: key.engine, url: key.url })
    .returning('*')) as RawRow[];
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** A new target that init-es fills aside; from its commit on, every change is queued for it too. */
export async function registerBuild(db: Db, key: AliasKey, physical: string): Promise<TargetRow> {
  const [row] = (await db(TABLE)
    .insert({ index_name: key.indexName, cluster: key.cluster, alias: key.alias, physical, state: 'building', engine: key.engine, url: key.url })
    .returning('*')) as RawRow[];
  return fromRow(row!);
}

/**
 * Records that the alias now points to `live`: it becomes live, from now on in the serving
 * history, and the previous live target (if any) is kept. The engine is moved first; when this
 * fails, viewAlias() records it later. Recording it again changes nothing.
 */
export async function recordSwap(db: Db, live: number): Promise<void> {
  await db.transaction(async (trx) => {
    const t = (await trx(TABLE).where({ id: live }).forUpdate().first()) as RawRow | undefined;
    if (!t || t.state === 'live') return;
    await trx(TABLE).where({ cluster: t.cluster, alias: t.alias, state: 'live' }).whereNot({ id: live }).update({ state: 'kept' });
    await trx(TABLE).where({ id: live }).update({ state: 'live', live_since: trx.raw('clock_timestamp()') });
  });
}

/**
 * Forgets a target and every pending row it had (the foreign keys cascade), unless another
 * session holds one of `locks`: then nothing is dropped and the lock is returned. The locks are
 * taken for the transaction, so no run, watch or build can start on the target while it goes.
 */
export async function dropTarget(db: Db, id: number, locks: LockName[] = []): Promise<LockName | undefined> {
  return db.transaction(async (trx) => {
    for (const lock of locks) {
      const r = await trx.raw<{ rows: Array<{ ok: boolean }> }>('SELECT pg_try_advisory_xact_lock(?::bigint) AS ok', [lock.key]);
      if (!r.rows[0]?.ok) return lock;
    }
    await trx(TABLE).where({ id }).delete();
    return undefined;
  });
}

/** Pending documents and deletes per target of one queue table. */
export async function pendingByTarget(db: Db, table: string): Promise<Map<number, number>> {
  const rows = (await db.raw<{ rows: Array<{ target_id: number; n: number }> }>(
    `SELECT target_id, count(*)::int AS n FROM movies.${table} GROUP BY target_id`,
  )).rows;
  return new Map(rows.map((r) => [Number(r.target_id), r.n]));
}

