import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { analyzeIfBlind } from '../../src/db/queue-upkeep.js';
import { freshDatabase } from '../helpers/db.js';
import { serviceEnv } from '../helpers/env.js';

const services = serviceEnv();

describe('queue statistics before a big run', () => {
  let fresh: Awaited<ReturnType<typeof freshDatabase>>;
  before(async () => {
    fresh = await freshDatabase(services.DATABASE_URL, 'movies_upkeep');
  });
  after(async () => fresh?.drop());

  /** A target with `n` pending films, written after the queue's last ANALYZE (as init-es does). */
  async function targetWith(n: number, name: string): Promise<number> {
    const [row] = (await fresh.db('movies.etl_target')
      .insert({ index_name: 'movies', cluster: 'test', alias: name, physical: `${name}_1`, state: 'building' })
      .returning('id')) as Array<{ id: number }>;
    const id = row!.id;
    await fresh.db.raw(
      `INSERT INTO movies.film_work_change (target_id, film_work_id) SELECT ?, gen_random_uuid() FROM generate_series(1, ?)`,
      [id, n],
    );
    return id;
  }
  const estimate = async (target: number) => {
    const r = await fresh.db.raw(`EXPLAIN (FORMAT JSON) SELECT 1 FROM movies.film_work_change WHERE target_id = ?`, [target]);
    return r.rows[0]['QUERY PLAN'][0].Plan['Plan Rows'] as number;
  };
  /** The page-end query's plan: without statistics it reads every pending row and sorts them. */
  const pageEndSorts = async (target: number) => {
    const r = await fresh.db.raw(
      `EXPLAIN (FORMAT JSON) SELECT max(version) FROM (SELECT version FROM movies.film_work_change
       WHERE target_id = ? AND version > 0 AND version <= 1e12 ORDER BY version LIMIT 500) s`,
      [target],
    );
    return JSON.stringify(r.rows[0]['QUERY PLAN']).includes('"Sort"');
  };

  it('analyzes a queue whose statistics do not know the pending rows, once', async () => {
    await fresh.db.raw('ANALYZE movies.film_work_change');
    const target = await targetWith(20_000, 'blind');
    assert.ok((await estimate(target)) < 5_000, 'the planner does not know the new rows yet');
    assert.equal(await pageEndSorts(target), true, 'without statistics the page end sorts every pending row');
    assert.equal(await analyzeIfBlind(fresh.db, 'film_work_change', target, 20_000), true);
    assert.ok((await estimate(target)) >= 15_000, `estimate after ANALYZE: ${await estimate(target)}`);
    assert.equal(await pageEndSorts(target), false, 'with statistics the page end reads the version index in order');
    assert.equal(await analyzeIfBlind(fresh.db, 'film_work_change', target, 20_000), false, 'known rows: no second ANALYZE');
  });

  it('leaves small runs alone', async () => {
    const target = await targetWith(9_999, 'small');
    assert.equal(await analyzeIfBlind(fresh.db, 'film_work_change', target, 9_999), false);
  });
});
