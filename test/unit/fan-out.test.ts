import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Knex } from 'knex';
import { FanOut } from '../../src/capture/logical/fan-out.js';
import { textHash } from '../../src/capture/logical/rows.js';
import { resolveCatalogue } from '../../src/catalogue/resolve.js';
import { names } from '../../src/catalogue/names.js';
import type { RowChange } from '../../src/capture/logical/changes.js';

/*
 * Logical capture's fan-out on its own, with a fake transaction that answers capture_row's
 * prefetch from `known` and records every statement: which ids each queue gets, which renamed
 * parents have their films looked up, and what capture_row becomes.
 */
const cat = resolveCatalogue({});
const n = names(cat);

function fakeTrx(known: Array<Record<string, string | null>>) {
  const calls: Array<{ sql: string; bindings: unknown[] }> = [];
  const trx = {
    raw: async (sql: string, bindings: unknown[] = []) => {
      calls.push({ sql, bindings });
      return { rows: sql.includes('SELECT r.* FROM movies.capture_row') ? known : [] };
    },
  } as unknown as Knex.Transaction;
  const queued = (table: string) =>
    calls.filter((c) => c.sql.includes(`"movies"."${table}"`) && c.sql.includes('unnest(?::uuid[])')).flatMap((c) => c.bindings[0] as string[]).sort();
  const renamedLookups = (link: string) => calls.filter((c) => c.sql.includes(`"content"."${link}" l WHERE`)).flatMap((c) => c.bindings[0] as string[]);
  const upserted = () => calls.filter((c) => c.sql.includes('INSERT INTO movies.capture_row')).flatMap((c) => c.bindings[1] as string[]);
  const truncated = () => calls.filter((c) => /DELETE FROM movies.capture_row WHERE entity = '/.test(c.sql)).map((c) => /entity = '(\w+)'/.exec(c.sql)![1]);
  return { trx, calls, queued, renamedLookups, upserted, truncated };
}

async function run(changes: RowChange[], known: Array<Record<string, string | null>> = []) {
  const f = fakeTrx(known);
  const fan = new FanOut(n, cat);
  await fan.prefetch(f.trx, changes);
  for (const c of changes) fan.add(c);
  await fan.write(f.trx);
  return { ...f, unresolved: fan.unresolved };
}

const P = '00000000-0000-4000-8000-0000000000a1';
const G = '00000000-0000-4000-8000-0000000000b1';
const F1 = '00000000-0000-4000-8000-0000000000c1';
const F2 = '00000000-0000-4000-8000-0000000000c2';
const L = '00000000-0000-4000-8000-0000000000d1';

describe('logical capture fan-out', () => {
  it('a person saved with the same name queues nothing; a new name queues the person and looks up its films', async () => {
    const known = [{ entity: 'person', id: P, film_work_id: null, parent_id: null, name_hash: textHash('Ann'), rest_hash: null }];
    const same = await run([{ op: 'update', entity: 'person', row: { id: P, full_name: 'Ann', name: 'Ann' }, old: null }], known);
    assert.deepEqual([same.queued('person_change'), same.renamedLookups('film_work_person')], [[], []]);
    const renamed = await run([{ op: 'update', entity: 'person', row: { id: P, name: 'Anna' }, old: null }], known);
    assert.deepEqual(renamed.queued('person_change'), [P]);
    assert.deepEqual(renamed.renamedLookups('film_work_person'), [P]);
  });

  it("a genre's description edit queues the genre and no film; an UPDATE the log left the description out of keeps its hash", async () => {
    const known = [{ entity: 'genre', id: G, film_work_id: null, parent_id: null, name_hash: textHash('Drama'), rest_hash: textHash('old') }];
    const edited = await run([{ op: 'update', entity: 'genre', row: { id: G, genre: 'Drama', description: 'new' }, old: null }], known);
    assert.deepEqual([edited.queued('genre_change'), edited.renamedLookups('film_work_genre')], [[G], []]);
    const untouched = await run([{ op: 'update', entity: 'genre', row: { id: G, genre: 'Drama', description: undefined }, old: null }], known);
    assert.deepEqual(untouched.queued('genre_change'), []);
  });

  it("a deleted link queues both of its ends from capture_row; one capture_row does not know is counted, not guessed", async () => {
    const known = [{ entity: 'film_work_person', id: L, film_work_id: F1, parent_id: P, name_hash: null, rest_hash: null }];
    const r = await run([{ op: 'delete', entity: 'film_work_person', old: { id: L } }], known);
    assert.deepEqual([r.queued('film_work_change'), r.queued('person_change'), r.unresolved], [[F1], [P], 0]);
    const unknown = await run([{ op: 'delete', entity: 'film_work_person', old: { id: L } }]);
    assert.deepEqual([unknown.queued('film_work_change'), unknown.unresolved], [[], 1]);
  });

  it('a link moved to another film queues the film it left and the one it joined', async () => {
    const known = [{ entity: 'film_work_genre', id: L, film_work_id: F1, parent_id: G, name_hash: null, rest_hash: null }];
    const r = await run([{ op: 'update', entity: 'film_work_genre', row: { id: L, film_work_id: F2, genre_id: G }, old: null }], known);
    assert.deepEqual(r.queued('film_work_change'), [F1, F2].sort());
  });

  it('a link inserted and deleted in one batch is resolved from the batch itself', async () => {
    const r = await run([
      { op: 'insert', entity: 'film_work_person', row: { id: L, film_work_id: F2, person_id: P, role: 'actor' } },
      { op: 'delete', entity: 'film_work_person', old: { id: L } },
    ]);
    assert.deepEqual([r.queued('film_work_change'), r.queued('person_change'), r.unresolved, r.upserted()], [[F2], [P], 0, []]);
  });

  it('TRUNCATE after an insert in the same batch: the inserted row is queued and not kept; capture_row of the table is emptied', async () => {
    const r = await run([
      { op: 'insert', entity: 'film_work', row: { id: F1, title: 'x' } },
      { op: 'truncate', entities: ['film_work'] },
      { op: 'insert', entity: 'film_work', row: { id: F2, title: 'y' } },
    ]);
    assert.deepEqual(r.truncated(), ['film_work']);
    assert.deepEqual(r.queued('film_work_change'), [F1, F2].sort());
    assert.deepEqual(r.upserted(), [F2]);
  });
});
