import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Entity } from '../../catalogue/layout.js';
import type { Names } from '../../catalogue/names.js';

/*
 * movies.capture_row (migration 004): what logical capture keeps of each catalogue row, because a
 * DELETE or TRUNCATE in the log no longer carries it (only the key, or nothing): every row's id,
 * a link's two ends, and hashes of a genre's or person's document columns (an UPDATE in the log
 * carries the new row only: the hash tells a rename from an edit of other columns).
 */
export interface RowFacts {
  filmWorkId?: string | null;
  parentId?: string | null;
  nameHash?: string | null;
  restHash?: string | null;
}

/** The hash of a document column's text, as the copy below computes it in SQL (NULL and '' make the same document). */
export const textHash = (v: unknown): string => createHash('md5').update(v === null || v === undefined ? '' : String(v), 'utf8').digest('hex');

/** Fills capture_row from the catalogue as the caller's transaction sees it (the slot's starting snapshot). */
export async function copyRows(trx: Knex.Transaction, n: Names): Promise<void> {
  const g = n.c.genre;
  await trx.raw('DELETE FROM movies.capture_row');
  await trx.raw(`INSERT INTO movies.capture_row (entity, id) SELECT 'film_work', f.${n.c.film_work.id} FROM ${n.t.film_work} f`);
  await trx.raw(
    `INSERT INTO movies.capture_row (entity, id, name_hash, rest_hash)
     SELECT 'genre', g.${g.id}, md5(${n.text('genre', 'genre', 'g')}), md5(${n.text('genre', 'description', 'g')}) FROM ${n.t.genre} g`,
  );
  await trx.raw(`INSERT INTO movies.capture_row (entity, id, name_hash) SELECT 'person', p.${n.c.person.id}, md5(${n.text('person', 'name', 'p')}) FROM ${n.t.person} p`);
  const links: Array<[Entity, string]> = [
    ['film_work_genre', n.c.film_work_genre.genre_id],
    ['film_work_person', n.c.film_work_person.person_id],
  ];
  for (const [link, parent] of links) {
    const c = n.c[link as 'film_work_genre'];
    await trx.raw(
      `INSERT INTO movies.capture_row (entity, id, film_work_id, parent_id) SELECT '${link}', l.${c.id}, l.${c.film_work_id}, l.${parent} FROM ${n.t[link]} l`,
    );
  }
}
