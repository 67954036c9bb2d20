import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { queueFingerprints } from '../../src/db/queue-fingerprint.js';
import { filmsIndex } from '../../src/indexes/films/index.js';
import { freshDatabase } from '../helpers/db.js';
import { serviceEnv } from '../helpers/env.js';

const services = serviceEnv();

/*
 * What wakes a watch (src/watch/poller.ts): the fingerprint of a target's queue moves with every
 * committed change, and only with committed ones.
 */
describe("a target's queue fingerprint (what wakes a watch)", () => {
  let h: Awaited<ReturnType<typeof freshDatabase>>;
  let target: number;
  const queue = filmsIndex.queue;
  const of = (t = target) => queueFingerprints(h.db, [{ queue, target: t }]).then((f) => f[0]!);
  const queueRow = (id: string) =>
    h.db.raw('INSERT INTO movies.film_work_change (target_id, film_work_id) VALUES (?, ?) ON CONFLICT (target_id, film_work_id) DO UPDATE SET version = excluded.version', [target, id]);

  before(async () => {
    h = await freshDatabase(services.DATABASE_URL);
    target = (await h.db('movies.etl_target').insert({ index_name: 'movies', state: 'live', cluster: 'c', alias: 'a', physical: 'p' }).returning('id'))[0]!.id;
  });
  after(async () => h?.drop());

  it('moves with a new row, a row queued again, a row marked; a row queued below the highest version moves it too', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const empty = await of();
    await queueRow(a);
    const one = await of();
    assert.notEqual(one, empty, 'a new row');
    await queueRow(a);
    const again = await of();
    assert.notEqual(again, one, 'the same document queued again (a fresh version)');
    // A transaction that took its version first and commits last: its row lands below the highest version.
    const early = new pg.Client({ connectionString: h.url });
    await early.connect();
    try {
      await early.query('BEGIN');
      await early.query('INSERT INTO movies.film_work_change (target_id, film_work_id) VALUES ($1, $2)', [target, b]);
      await queueRow(a);
      const before = await of();
      assert.notEqual(before, again);
      await early.query('COMMIT');
      assert.notEqual(await of(), before, 'the late commit of a lower version');
    } finally {
      await early.end();
    }
    const full = await of();
    await h.db('movies.film_work_change').where({ target_id: target, film_work_id: b }).delete();
    assert.notEqual(await of(), full, 'a row marked');
  });

  it('does not move for a change not yet committed, nor for another target', async () => {
    const a = randomUUID();
    await queueRow(a);
    const other = (await h.db('movies.etl_target').insert({ index_name: 'movies', state: 'live', cluster: 'c2', alias: 'a', physical: 'p2' }).returning('id'))[0]!.id as number;
    const [mine, theirs] = [await of(), await of(other)];
    const writer = new pg.Client({ connectionString: h.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query('UPDATE movies.film_work_change SET version = version + 1000 WHERE target_id = $1 AND film_work_id = $2', [target, a]);
      await writer.query('INSERT INTO movies.film_work_change (target_id, film_work_id) VALUES ($1, $2)', [target, randomUUID()]);
      assert.equal(await of(), mine, 'uncommitted: the same');
      await writer.query('COMMIT');
      assert.notEqual(await of(), mine, 'committed: moved');
      assert.equal(await of(other), theirs, "another target's queue did not move");
    } finally {
      await writer.end();
    }
  });
});
