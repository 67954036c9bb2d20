import type { Db } from '../../db/knex.js';
import { UsageError } from '../../core/errors.js';
import { ENTITY_NAMES, type Catalogue } from '../../catalogue/layout.js';

const OTHERWISE = 'or keep trigger capture (`movies migrate --capture triggers`)';

/**
 * What logical capture needs of the server, the role and the catalogue's tables, checked before
 * `migrate` changes anything; each refusal names the setting to change.
 */
export async function checkLogical(db: Db, cat: Catalogue, ownSlot: string | null): Promise<void> {
  const s = (
    await db.raw<{ rows: Array<{ wal_level: string; replicate: boolean; role: string; slots: number; used: number; senders: number }> }>(
      `SELECT current_setting('wal_level') AS wal_level, r.rolreplication OR r.rolsuper AS replicate, r.rolname AS role,
              current_setting('max_replication_slots')::int AS slots, current_setting('max_wal_senders')::int AS senders,
              (SELECT count(*)::int FROM pg_replication_slots WHERE slot_name IS DISTINCT FROM ?) AS used
       FROM pg_roles r WHERE r.rolname = current_user`,
      [ownSlot],
    )
  ).rows[0]!;
  if (s.wal_level !== 'logical') {
    throw new UsageError(
      `logical capture needs wal_level = logical, and this server has wal_level = ${s.wal_level}: ` +
        `run ALTER SYSTEM SET wal_level = logical and restart PostgreSQL (on a managed service, turn on its logical replication setting), ${OTHERWISE}`,
    );
  }
  if (!s.replicate) {
    throw new UsageError(`logical capture needs a role that may replicate, and ${s.role} may not: ALTER ROLE ${s.role} REPLICATION (as a superuser), ${OTHERWISE}`);
  }
  if (s.used >= s.slots) {
    throw new UsageError(
      `logical capture needs a replication slot, and all ${s.slots} of max_replication_slots are taken: raise max_replication_slots (restart needed) or drop an unused slot, ${OTHERWISE}`,
    );
  }
  // The slot is created, and read, on a replication connection.
  if (s.senders < 1) {
    throw new UsageError(`logical capture reads its slot on a replication connection, and max_wal_senders is 0: raise it (restart needed), ${OTHERWISE}`);
  }
  for (const e of ENTITY_NAMES) {
    const table = cat.layout[e].table;
    const id = cat.layout[e].columns.id!;
    const t = (
      await db.raw<{ rows: Array<{ ident: string; key: string[] | null; owned: boolean }> }>(
        `SELECT c.relreplident::text AS ident, pg_has_role(c.relowner, 'USAGE') AS owned,
                (SELECT array_agg(a.attname::text ORDER BY a.attnum)
                 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                 WHERE i.indrelid = c.oid AND CASE c.relreplident WHEN 'i' THEN i.indisreplident ELSE i.indisprimary END) AS key
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = ? AND c.relname = ?`,
        [cat.schema, table],
      )
    ).rows[0];
    if (!t) continue; // an absent catalogue is created by migrate, with primary keys
    const name = `${cat.schema}.${table}`;
    if (!t.owned) {
      throw new UsageError(`logical capture publishes ${name}, which only its owner may do, and the role movies connects as is not a member of its owner: connect as the owner, ${OTHERWISE}`);
    }
    // Without a replica identity PostgreSQL refuses the application's UPDATEs and DELETEs on a published table.
    const keyed = t.ident === 'f' || (t.ident !== 'n' && t.key !== null && t.key.length === 1 && t.key[0] === id);
    if (!keyed) {
      throw new UsageError(
        `logical capture needs ${name} to identify its rows by ${id} (its primary key, or REPLICA IDENTITY USING INDEX on it), ` +
          `and it ${t.key ? `is keyed by (${t.key.join(', ')})` : 'has no such key'}: publishing it would make the application's updates fail; add the key, ${OTHERWISE}`,
      );
    }
  }
}
