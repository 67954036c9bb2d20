import type { Knex } from 'knex';
import { ident, own, OWN_SCHEMA, type Names } from '../../catalogue/names.js';
import type { Entity } from '../../catalogue/layout.js';
import type { Queue } from '../../db/queues.js';
import { enqueueSql } from '../enqueue.js';

/*
 * Change capture by triggers, rendered from the catalogue's names. Every write that can change a
 * document, by any writer, upserts the document's id into its index's queue (movies.<index>_change)
 * once per target of the index, with a fresh version. The functions live in schema movies; the
 * triggers sit on the catalogue's tables, each named movies_capture_..., and are the only objects
 * movies adds outside its own schema (`movies detach` removes them with the schema).
 *
 * The design, unchanged from the trigger migrations of earlier versions (src/db/legacy/002-007):
 * - statement-level triggers with transition tables, so a bulk write costs one INSERT ... SELECT;
 * - a film is queued by any change of its row (any column: conservative), a link by its
 *   insert, update or delete (both ends), a genre or person by its document's columns, and the
 *   films of a renamed genre or person through their links; TRUNCATE queues every row first;
 * - a link writer takes FOR SHARE on the persons or genres its new rows point to, in id order,
 *   so a rename and a new link wait for each other instead of losing the rename (see legacy 007);
 * - queues have no foreign key: a deleted document keeps its row until the engine acknowledged the delete.
 */

const enqueue = (index: Queue['index'], ids: string) => `${enqueueSql(index, ids)};`;

/** A row's own document: queued on insert, delete, truncate, and an update of `changed` (a SQL condition on o and n). */
const rowFunction = (name: string, index: Queue['index'], id: string, table: string, changed: string) => `
  CREATE OR REPLACE FUNCTION ${own(name)}() RETURNS trigger
  LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'INSERT' THEN
      ${enqueue(index, `SELECT ${id} FROM new_rows`)}
    ELSIF TG_OP = 'UPDATE' THEN
      ${enqueue(
        index,
        `SELECT n.${id} FROM new_rows n LEFT JOIN old_rows o ON o.${id} = n.${id}
         WHERE o.${id} IS NULL OR ${changed}
         UNION ALL
         SELECT o.${id} FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.${id} = o.${id})`,
      )}
    ELSIF TG_OP = 'DELETE' THEN
      ${enqueue(index, `SELECT ${id} FROM old_rows`)}
    ELSE -- TRUNCATE, fired BEFORE, while the rows still exist
      ${enqueue(index, `SELECT ${id} FROM ${table}`)}
    END IF;
    RETURN NULL;
  END $$;`;

/** The films (and, for person links, the persons) of a link table's written rows, after locking what they point to. */
function linkFunction(n: Names, link: 'film_work_genre' | 'film_work_person'): string {
  const c = n.c[link];
  const parent: Entity = link === 'film_work_genre' ? 'genre' : 'person';
  const parentRef = link === 'film_work_genre' ? n.c.film_work_genre.genre_id : n.c.film_work_person.person_id;
  const film = c.film_work_id;
  const lock = `PERFORM 1 FROM ${n.t[parent]} p WHERE p.${n.c[parent].id} IN (SELECT ${parentRef} FROM new_rows) ORDER BY p.${n.c[parent].id} FOR SHARE OF p;`;
  const persons =
    link === 'film_work_person'
      ? {
          ins: enqueue('persons', `SELECT DISTINCT ${parentRef} FROM new_rows`),
          // A moved link changes the old person's films list and the new one's; an edit of other columns changes neither.
          upd: enqueue(
            'persons',
            `SELECT DISTINCT x.person_id
             FROM new_rows n FULL JOIN old_rows o ON o.${c.id} = n.${c.id}
             CROSS JOIN LATERAL (VALUES (n.${parentRef}), (o.${parentRef})) AS x(person_id)
             WHERE o.${c.id} IS NULL OR n.${c.id} IS NULL
                OR (o.${film}, o.${parentRef}, o.${n.c.film_work_person.job}::text) IS DISTINCT FROM (n.${film}, n.${parentRef}, n.${n.c.film_work_person.job}::text)`,
          ),
          del: enqueue('persons', `SELECT DISTINCT ${parentRef} FROM old_rows`),
          trunc: enqueue('persons', `SELECT DISTINCT ${parentRef} FROM ${n.t[link]}`),
        }
      : { ins: '', upd: '', del: '', trunc: '' };
  return `
  CREATE OR REPLACE FUNCTION ${own(`capture_${link}`)}() RETURNS trigger
  LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'INSERT' THEN
      ${lock}
      ${enqueue('movies', `SELECT ${film} FROM new_rows`)}
      ${persons.ins}
    ELSIF TG_OP = 'UPDATE' THEN
      ${lock}
      ${enqueue('movies', `SELECT ${film} FROM new_rows UNION SELECT ${film} FROM old_rows`)}
      ${persons.upd}
    ELSIF TG_OP = 'DELETE' THEN
      ${enqueue('movies', `SELECT ${film} FROM old_rows`)}
      ${persons.del}
    ELSE
      ${enqueue('movies', `SELECT DISTINCT ${film} FROM ${n.t[link]}`)}
      ${persons.trunc}
    END IF;
    RETURN NULL;
  END $$;`;
}

/** A genre's or person's name reaches film documents through links: a rename queues the linked films. */
function renameFunction(n: Names, entity: 'genre' | 'person'): string {
  const link = entity === 'genre' ? 'film_work_genre' : 'film_work_person';
  const id = n.c[entity].id;
  const name = entity === 'genre' ? n.c.genre.genre : n.c.person.name;
  const ref = entity === 'genre' ? n.c.film_work_genre.genre_id : n.c.film_work_person.person_id;
  return `
  CREATE OR REPLACE FUNCTION ${own(`capture_${entity}_rename`)}() RETURNS trigger
  LANGUAGE plpgsql AS $$
  BEGIN
    ${enqueue(
      'movies',
      `SELECT l.${n.c[link].film_work_id} FROM new_rows n JOIN old_rows o ON o.${id} = n.${id}
       JOIN ${n.t[link]} l ON l.${ref} = n.${id}
       WHERE o.${name} IS DISTINCT FROM n.${name}`,
    )}
    RETURN NULL;
  END $$;`;
}

/** The (table, function) pairs that get the four triggers (insert, update, delete, truncate), and the update-only renames. */
function triggerSets(n: Names): Array<{ entity: Entity; fn: string; ops: readonly Op[] }> {
  const all = ['ins', 'upd', 'del', 'trunc'] as const;
  return [
    { entity: 'film_work', fn: 'capture_film_work', ops: all },
    { entity: 'genre', fn: 'capture_genre', ops: all },
    { entity: 'genre', fn: 'capture_genre_rename', ops: ['upd'] },
    { entity: 'person', fn: 'capture_person', ops: all },
    { entity: 'person', fn: 'capture_person_rename', ops: ['upd'] },
    { entity: 'film_work_genre', fn: 'capture_film_work_genre', ops: all },
    { entity: 'film_work_person', fn: 'capture_film_work_person', ops: all },
  ].filter((s) => n.t[s.entity as Entity]) as Array<{ entity: Entity; fn: string; ops: readonly Op[] }>;
}

type Op = 'ins' | 'upd' | 'del' | 'trunc';
const TRIGGER_OP: Record<Op, string> = {
  ins: 'AFTER INSERT ON %t REFERENCING NEW TABLE AS new_rows',
  upd: 'AFTER UPDATE ON %t REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows',
  del: 'AFTER DELETE ON %t REFERENCING OLD TABLE AS old_rows',
  trunc: 'BEFORE TRUNCATE ON %t',
};

/** The name of a capture trigger: movies_<function>_<op>, so a DBA reading \d of a table sees whose it is. */
export const triggerName = (fn: string, op: Op) => `movies_${fn}_${op}`;

/** Every statement that installs trigger capture on a catalogue (functions, then triggers). */
export function captureSql(n: Names): string[] {
  const f = n.c.film_work;
  const g = n.c.genre;
  const p = n.c.person;
  const statements = [
    rowFunction('capture_film_work', 'movies', f.id, n.t.film_work, 'o IS DISTINCT FROM n'),
    rowFunction(
      'capture_genre',
      'genres',
      g.id,
      n.t.genre,
      n.has('genre', 'description') ? `(o.${g.genre}, o.${g.description}) IS DISTINCT FROM (n.${g.genre}, n.${g.description})` : `o.${g.genre} IS DISTINCT FROM n.${g.genre}`,
    ),
    rowFunction('capture_person', 'persons', p.id, n.t.person, `o.${p.name} IS DISTINCT FROM n.${p.name}`),
    linkFunction(n, 'film_work_genre'),
    linkFunction(n, 'film_work_person'),
    renameFunction(n, 'genre'),
    renameFunction(n, 'person'),
  ];
  for (const s of triggerSets(n)) {
    for (const op of s.ops) {
      statements.push(`CREATE TRIGGER ${triggerName(s.fn, op)} ${TRIGGER_OP[op].replace('%t', n.t[s.entity])} FOR EACH STATEMENT EXECUTE FUNCTION ${own(s.fn)}()`);
    }
  }
  return statements;
}

/** The capture triggers movies has on any table: those whose function lives in schema movies. */
export async function ourTriggers(db: Knex | Knex.Transaction): Promise<Array<{ tbl: string; name: string }>> {
  const r = await db.raw<{ rows: Array<{ tbl: string; name: string }> }>(
    `SELECT format('%I.%I', tn.nspname, c.relname) AS tbl, t.tgname AS name
     FROM pg_trigger t
     JOIN pg_proc f ON f.oid = t.tgfoid JOIN pg_namespace fn ON fn.oid = f.pronamespace
     JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace tn ON tn.oid = c.relnamespace
     WHERE fn.nspname = ? AND NOT t.tgisinternal
     ORDER BY 1, 2`,
    [OWN_SCHEMA],
  );
  return r.rows;
}

/** Replaces movies' capture triggers (wherever they are) by the ones of this catalogue, in the caller's transaction. */
export async function installCapture(trx: Knex.Transaction, n: Names): Promise<void> {
  for (const t of await ourTriggers(trx)) await trx.raw(`DROP TRIGGER ${ident(t.name)} ON ${t.tbl}`);
  // Every function of schema movies is capture's: what an earlier version rendered and this one does not (its enqueue functions) goes too.
  const functions = await trx.raw<{ rows: Array<{ fn: string }> }>(
    'SELECT p.oid::regprocedure::text AS fn FROM pg_proc p WHERE p.pronamespace = ?::regnamespace',
    [OWN_SCHEMA],
  );
  for (const f of functions.rows) await trx.raw(`DROP FUNCTION ${f.fn}`);
  for (const s of captureSql(n)) await trx.raw(s);
}
