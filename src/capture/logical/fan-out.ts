import type { Knex } from 'knex';
import type { Catalogue, Entity } from '../../catalogue/layout.js';
import type { Names } from '../../catalogue/names.js';
import { enqueueSql } from '../enqueue.js';
import type { Queue } from '../../db/queues.js';
import type { Row, RowChange } from './changes.js';
import { textHash, type RowFacts } from './rows.js';

type Facts = RowFacts & { present: true };
type Key = string;
const keyOf = (e: Entity, id: string): Key => `${e}:${id}`;
const LINKS = new Set<Entity>(['film_work_genre', 'film_work_person']);

/**
 * The queue rows a run of row changes makes, the same as the capture triggers make
 * (src/capture/triggers/sql.ts) for the same writes: a film by any change of its row; a genre or
 * person by a change of its document's columns, and the films linked to it by a rename; a link's
 * film (and person) at both of its ends, before and after; a TRUNCATE every row the table had.
 * What the log does not carry (a deleted link's ends, a genre's old name) comes from capture_row,
 * which this keeps up to date in the same transaction.
 */
export class FanOut {
  private readonly queued: Record<Queue['index'], Set<string>> = { movies: new Set(), genres: new Set(), persons: new Set() };
  private readonly renamed: Record<'genre' | 'person', Set<string>> = { genre: new Set(), person: new Set() };
  /** capture_row as this run leaves it: facts, or null for a row deleted. */
  private readonly written = new Map<Key, Facts | null>();
  /** capture_row as the transaction found it, for the rows the changes name. */
  private readonly found = new Map<Key, Facts>();
  private readonly truncated = new Set<Entity>();
  /** Rows whose facts were needed and missing (a row older than capture_row's copy would be a bug). */
  unresolved = 0;

  constructor(
    private readonly n: Names,
    private readonly cat: Catalogue,
  ) {}

  private col(e: Entity, f: string): string | null {
    return (this.cat.layout[e].columns as Record<string, string | null>)[f] ?? null;
  }
  private id(e: Entity, row: Row): string {
    return String(row[this.col(e, 'id')!]);
  }
  /** A document column's value; '' for one the layout does not map; undefined when the log left it out (unchanged). */
  private value(e: Entity, f: string, row: Row): unknown {
    const c = this.col(e, f);
    return c === null ? '' : row[c];
  }

  /** Reads from capture_row the facts `changes` will need, in one statement. */
  async prefetch(trx: Knex.Transaction, changes: RowChange[]): Promise<void> {
    const want: Array<[Entity, string]> = [];
    for (const c of changes) {
      if (c.op === 'update' && (LINKS.has(c.entity) || c.entity === 'genre' || c.entity === 'person')) want.push([c.entity, this.id(c.entity, c.old ?? c.row)]);
      if (c.op === 'delete' && LINKS.has(c.entity)) want.push([c.entity, this.id(c.entity, c.old)]);
    }
    const todo = want.filter(([e, id]) => !this.found.has(keyOf(e, id)) && !this.written.has(keyOf(e, id)));
    if (!todo.length) return;
    const r = await trx.raw<{ rows: Array<{ entity: Entity; id: string; film_work_id: string | null; parent_id: string | null; name_hash: string | null; rest_hash: string | null }> }>(
      `SELECT r.* FROM movies.capture_row r JOIN unnest(?::text[], ?::uuid[]) AS w(entity, id) USING (entity, id)`,
      [todo.map((w) => w[0]), todo.map((w) => w[1])],
    );
    for (const x of r.rows) {
      this.found.set(keyOf(x.entity, x.id), { present: true, filmWorkId: x.film_work_id, parentId: x.parent_id, nameHash: x.name_hash, restHash: x.rest_hash });
    }
  }

  private facts(e: Entity, id: string): Facts | undefined {
    const k = keyOf(e, id);
    if (this.written.has(k)) return this.written.get(k) ?? undefined;
    return this.truncated.has(e) ? undefined : this.found.get(k);
  }

  private queue(index: Queue['index'], id: unknown): void {
    if (id !== null && id !== undefined) this.queued[index].add(String(id));
  }

  /** A link row's ends: its film, and its person for a person link. */
  private queueEnds(e: Entity, f: RowFacts): void {
    this.queue('movies', f.filmWorkId);
    if (e === 'film_work_person') this.queue('persons', f.parentId);
  }

  private linkFacts(e: Entity, row: Row): Facts {
    return { present: true, filmWorkId: String(row[this.col(e, 'film_work_id')!]), parentId: String(row[this.col(e, e === 'film_work_genre' ? 'genre_id' : 'person_id')!]) };
  }

  /** A genre's or person's hashes from a new row; an unchanged (left out) value keeps the old hash. */
  private parentFacts(e: 'genre' | 'person', row: Row, old: Facts | undefined): Facts {
    const name = this.value(e, e === 'genre' ? 'genre' : 'name', row);
    const rest = e === 'genre' ? this.value(e, 'description', row) : undefined;
    return {
      present: true,
      nameHash: name === undefined ? (old?.nameHash ?? null) : textHash(name),
      restHash: e === 'genre' ? (rest === undefined ? (old?.restHash ?? null) : textHash(rest)) : null,
    };
  }

  private indexOf(e: Entity): Queue['index'] {
    return e === 'film_work' ? 'movies' : e === 'genre' ? 'genres' : 'persons';
  }

  /** Adds one change, in commit order. */
  add(c: RowChange): void {
    if (c.op === 'truncate') {
      for (const e of c.entities) {
        // What this run wrote of the table goes with it (each row was queued as it was written);
        // what capture_row holds is queued at write().
        for (const k of this.written.keys()) if (k.startsWith(`${e}:`)) this.written.delete(k);
        this.truncated.add(e);
      }
      return;
    }
    const e = c.entity;
    if (LINKS.has(e)) {
      if (c.op !== 'insert') {
        const oldId = this.id(e, c.old ?? (c as { row: Row }).row);
        const old = c.op === 'delete' && this.col(e, 'film_work_id')! in c.old ? this.linkFacts(e, c.old) : this.facts(e, oldId);
        if (old) this.queueEnds(e, old);
        else this.unresolved++;
        this.written.set(keyOf(e, oldId), null);
      }
      if (c.op !== 'delete') {
        const now = this.linkFacts(e, c.row);
        this.queueEnds(e, now);
        this.written.set(keyOf(e, this.id(e, c.row)), now);
      }
      return;
    }
    const index = this.indexOf(e);
    if (c.op === 'delete') {
      const id = this.id(e, c.old);
      this.queue(index, id);
      this.written.set(keyOf(e, id), null);
      return;
    }
    const id = this.id(e, c.row);
    const oldId = c.op === 'update' && c.old ? this.id(e, c.old) : id;
    if (oldId !== id) {
      // The row's key changed: the old document goes, the new one comes.
      this.queue(index, oldId);
      this.written.set(keyOf(e, oldId), null);
    }
    if (e === 'film_work') {
      this.queue(index, id);
      // capture_row has every film from its copy on; only a new id is written (an edit of a film
      // in place would otherwise rewrite its row at every change: 20k rows for 20k edits).
      if (c.op === 'insert' || oldId !== id) this.written.set(keyOf(e, id), { present: true });
      return;
    }
    const parent = e as 'genre' | 'person';
    const old = c.op === 'update' && oldId === id ? this.facts(e, id) : undefined;
    const now = this.parentFacts(parent, c.row, old);
    if (c.op === 'insert' || !old || old.nameHash !== now.nameHash) {
      this.queue(index, id);
      if (c.op === 'update') this.renamed[parent].add(id);
    } else if (old.restHash !== now.restHash) {
      this.queue(index, id);
    }
    if (c.op === 'update' && !old) this.unresolved++;
    this.written.set(keyOf(e, id), now);
  }

  /** Writes what the changes added so far: truncations, capture_row, then the queue rows. */
  async write(trx: Knex.Transaction): Promise<number> {
    const n = this.n;
    let statements = 0;
    const run = async (sql: string, bindings: unknown[] = []) => {
      statements++;
      await trx.raw(sql, bindings as Knex.RawBinding[]);
    };
    for (const e of this.truncated) {
      const ids = `SELECT id FROM movies.capture_row WHERE entity = '${e}'`;
      if (e === 'film_work_genre' || e === 'film_work_person') {
        await run(enqueueSql('movies', `SELECT film_work_id FROM movies.capture_row WHERE entity = '${e}'`));
        if (e === 'film_work_person') await run(enqueueSql('persons', `SELECT parent_id FROM movies.capture_row WHERE entity = '${e}'`));
      } else {
        await run(enqueueSql(this.indexOf(e), ids));
      }
      await run(`DELETE FROM movies.capture_row WHERE entity = '${e}'`);
    }
    const gone = [...this.written].filter(([, f]) => f === null).map(([k]) => k);
    if (gone.length) {
      await run('DELETE FROM movies.capture_row r USING unnest(?::text[], ?::uuid[]) AS g(entity, id) WHERE r.entity = g.entity AND r.id = g.id', [
        gone.map((k) => k.slice(0, k.indexOf(':'))),
        gone.map((k) => k.slice(k.indexOf(':') + 1)),
      ]);
    }
    const kept = [...this.written].filter((x): x is [Key, Facts] => x[1] !== null);
    if (kept.length) {
      await run(
        `INSERT INTO movies.capture_row (entity, id, film_work_id, parent_id, name_hash, rest_hash)
         SELECT * FROM unnest(?::text[], ?::uuid[], ?::uuid[], ?::uuid[], ?::text[], ?::text[]) ORDER BY 1, 2
         ON CONFLICT (entity, id) DO UPDATE SET film_work_id = excluded.film_work_id, parent_id = excluded.parent_id,
           name_hash = excluded.name_hash, rest_hash = excluded.rest_hash`,
        [
          kept.map(([k]) => k.slice(0, k.indexOf(':'))),
          kept.map(([k]) => k.slice(k.indexOf(':') + 1)),
          kept.map(([, f]) => f.filmWorkId ?? null),
          kept.map(([, f]) => f.parentId ?? null),
          kept.map(([, f]) => f.nameHash ?? null),
          kept.map(([, f]) => f.restHash ?? null),
        ],
      );
    }
    for (const [parent, ids] of Object.entries(this.renamed) as Array<['genre' | 'person', Set<string>]>) {
      if (!ids.size) continue;
      const link = parent === 'genre' ? 'film_work_genre' : 'film_work_person';
      const ref = parent === 'genre' ? n.c.film_work_genre.genre_id : n.c.film_work_person.person_id;
      // The films linked now: a link removed since has queued its film itself, one added since too.
      await run(enqueueSql('movies', `SELECT l.${n.c[link].film_work_id} FROM ${n.t[link]} l WHERE l.${ref} = ANY (?::uuid[])`), [[...ids]]);
    }
    for (const [index, ids] of Object.entries(this.queued) as Array<[Queue['index'], Set<string>]>) {
      if (ids.size) await run(enqueueSql(index, 'SELECT unnest(?::uuid[])'), [[...ids]]);
    }
    this.clear();
    return statements;
  }

  private clear(): void {
    for (const s of Object.values(this.queued)) s.clear();
    for (const s of Object.values(this.renamed)) s.clear();
    this.written.clear();
    this.found.clear();
    this.truncated.clear();
  }
}
