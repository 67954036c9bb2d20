import type { Knex } from 'knex';
import { MODELS } from './models.js';
import { pgReason } from '../db/errors.js';
import { QUEUES } from '../db/queues.js';

/*
 * loaddata's fast path: the upsert runs with session_replication_role = replica, so neither the
 * row-by-row foreign-key triggers (650k + 220k links, each checking two parents: ~7 s on the
 * 100k-film fixture) nor the capture triggers (statement-level, but fanned out per target: the
 * upsert took 32 s instead of 23 s with one target per index) fire. Their work is done here,
 * set-based, in the same transaction (src/django/fast-upsert.ts).
 *
 * Only when that is exactly what the triggers would have done: the role may set the parameter
 * (superuser, or PostgreSQL 15's GRANT SET ON PARAMETER), and the content tables (and the three
 * queues, which the fast path also writes with triggers off) carry no
 * trigger or rule but migrations 002/004's capture triggers and the internal triggers of the
 * four foreign keys loaddata checks itself. A user's foreign key from a table of theirs to a content
 * table is fine: its triggers on the content table act on a DELETE or a change of id, which the
 * upsert (ON CONFLICT (id)) never makes. Anything else (a user's audit trigger, a foreign key from
 * a content table to a table of theirs, a trigger set to fire ALWAYS or REPLICA, one disabled)
 * keeps the trigger path, which is unchanged.
 */

const CONTENT = MODELS.map((m) => m.table);
/** The queues the fast path writes, also with triggers off (fast-upsert.ts): their one foreign key is to movies.etl_target. */
export const QUEUE_TABLES = QUEUES.map((q) => q.table);
const WRITTEN = [...CONTENT.map((t) => `content.${t}`), ...QUEUE_TABLES.map((t) => `movies.${t}`)];

/** The foreign keys checkReferences proves: "child.column>parent". */
const CHECKED_FKS = new Set([
  ...MODELS.flatMap((m) => Object.entries(m.references).map(([column, parent]) => `${m.table}.${column}>${parent}`)),
  // The fast path locks the targets FOR KEY SHARE itself before it enqueues.
  ...QUEUE_TABLES.map((t) => `${t}.target_id>etl_target`),
]);

export type FastPathDecision = { ok: true } | { ok: false; reason: string };

/**
 * Whether the fast path may run in this transaction. Takes ROW EXCLUSIVE on the content tables
 * and the queues first (the lock the upsert and the enqueue take anyway), so that no trigger can be added (CREATE TRIGGER
 * needs SHARE ROW EXCLUSIVE) between this look and the commit.
 */
export async function decideFastPath(trx: Knex.Transaction): Promise<FastPathDecision> {
  await trx.raw('SAVEPOINT movies_fast_path');
  try {
    await trx.raw('SET LOCAL session_replication_role = replica');
    await trx.raw('SET LOCAL session_replication_role = origin');
    await trx.raw('RELEASE SAVEPOINT movies_fast_path');
  } catch (err) {
    // Only "permission denied" means the trigger path; anything else (a timeout, a lost connection) is a failure.
    if ((err as { code?: string }).code !== '42501') throw err;
    await trx.raw('ROLLBACK TO SAVEPOINT movies_fast_path');
    return { ok: false, reason: `the role may not set session_replication_role (${pgReason(err)})` };
  }
  await trx.raw(`LOCK TABLE ${WRITTEN.join(', ')} IN ROW EXCLUSIVE MODE`);
  const r = await trx.raw<{
    rows: Array<{ tbl: string; name: string; enabled: string; internal: boolean; ours: boolean; fk: string | null; parentSide: boolean }>;
  }>(
    `SELECT c.relname AS tbl, t.tgname AS name, t.tgenabled AS enabled, t.tgisinternal AS internal,
            (SELECT pronamespace = 'movies'::regnamespace FROM pg_proc WHERE oid = t.tgfoid) AS ours,
            (SELECT kc.relname || '.' || a.attname || '>' || kp.relname
               FROM pg_constraint k
               JOIN pg_class kc ON kc.oid = k.conrelid
               JOIN pg_class kp ON kp.oid = k.confrelid
               JOIN pg_namespace kn ON kn.oid = kc.relnamespace AND kn.nspname IN ('content', 'movies')
               JOIN pg_namespace pn ON pn.oid = kp.relnamespace AND pn.nspname IN ('content', 'movies')
               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
              WHERE k.oid = t.tgconstraint AND k.contype = 'f' AND cardinality(k.conkey) = 1) AS fk,
            EXISTS (SELECT 1 FROM pg_constraint k WHERE k.oid = t.tgconstraint AND k.contype = 'f'
                    AND k.confrelid = t.tgrelid AND k.conrelid <> t.tgrelid) AS "parentSide"
     FROM pg_trigger t
     JOIN pg_class c ON c.oid = t.tgrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE format('%s.%s', n.nspname, c.relname) = ANY(?)`,
    [WRITTEN],
  );
  const foreign = r.rows.find(
    (t) =>
      t.enabled !== 'O' ||
      !(t.internal ? t.parentSide || (t.fk !== null && CHECKED_FKS.has(t.fk)) : t.ours),
  );
  if (foreign) {
    return { ok: false, reason: `content.${foreign.tbl} has trigger ${foreign.name}${foreign.enabled !== 'O' ? ` (tgenabled ${foreign.enabled})` : ''}, which only the trigger path keeps` };
  }
  const rules = await trx.raw<{ rows: Array<{ tbl: string; name: string }> }>(
    `SELECT c.relname AS tbl, r.rulename AS name FROM pg_rewrite r
     JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE format('%s.%s', n.nspname, c.relname) = ANY(?) LIMIT 1`,
    [WRITTEN],
  );
  const rule = rules.rows[0];
  if (rule) return { ok: false, reason: `content.${rule.tbl} has rule ${rule.name}, which only the trigger path keeps` };
  return { ok: true };
}
