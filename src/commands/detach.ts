import type { Db } from '../db/knex.js';
import { ident, OWN_SCHEMA } from '../catalogue/names.js';
import { ourTriggers } from '../capture/triggers/sql.js';
import { CAPTURE_MODES } from '../capture/modes.js';

export interface DetachPlan {
  /** The capture triggers on the catalogue's tables, as schema.table.trigger. */
  triggers: string[];
  /** What logical capture added: its publication and replication slot, as "kind name". */
  replication: string[];
  /** Everything in schema movies (tables, sequences, functions), as kind name. */
  objects: string[];
  /** Whether schema movies exists. */
  schema: boolean;
}

export interface DetachResult extends DetachPlan {
  detached: boolean;
}

/** What `movies detach` would remove: every object movies added, and nothing else. */
export async function detachPlan(db: Db): Promise<DetachPlan> {
  const triggers = (await ourTriggers(db)).map((t) => `${t.tbl}.${t.name}`);
  const r = await db.raw<{ rows: Array<{ kind: string; name: string }> }>(
    `SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' ELSE 'relation' END AS kind,
            format('%I.%I', n.nspname, c.relname) AS name
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = :own AND c.relkind IN ('r', 'S')
     UNION ALL
     SELECT 'function', format('%I.%I', n.nspname, p.proname)
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :own
     ORDER BY 1, 2`,
    { own: OWN_SCHEMA },
  );
  const schema = await db.raw<{ rows: unknown[] }>('SELECT 1 FROM pg_namespace WHERE nspname = ?', [OWN_SCHEMA]);
  const replication = await CAPTURE_MODES.logical.added(db);
  return { triggers, replication, objects: r.rows.map((o) => `${o.kind} ${o.name}`), schema: schema.rows.length > 0 };
}

// As migrate: dropping a trigger waits behind the table's writers' transactions; give up soon.
const DETACH_LOCK_TIMEOUT = '5s';

/**
 * Removes logical capture's slot and publication, then the capture triggers and schema movies
 * with all it holds (targets, queues, runs), in one transaction. The catalogue's tables and
 * rows, and the engines' indexes, are left alone.
 */
export async function detach(db: Db): Promise<DetachResult> {
  const plan = await detachPlan(db);
  await CAPTURE_MODES.logical.remove(db);
  await db.transaction(async (trx) => {
    await trx.raw(`SET LOCAL lock_timeout = '${DETACH_LOCK_TIMEOUT}'`);
    for (const t of await ourTriggers(trx)) await trx.raw(`DROP TRIGGER ${ident(t.name)} ON ${t.tbl}`);
    await trx.raw(`DROP SCHEMA IF EXISTS ${ident(OWN_SCHEMA)} CASCADE`);
  });
  return { ...plan, detached: true };
}
