import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangePoller } from '../../src/watch/poller.js';
import { Subscription } from '../../src/watch/subscription.js';
import type { QueueOfTarget } from '../../src/db/queue-fingerprint.js';
import { failureKind } from '../../src/watch/metrics.js';
import { ConnectionError, EngineRejectedError, IndexMissingError, LockedError } from '../../src/core/errors.js';

const queue = (table: string) => ({ table, idColumn: 'id', rejectedTable: `${table}_rejected` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A poller over plain fakes: each queue's fingerprint is what `state` holds for its table; reads are recorded. */
function fakePoller(state: Record<string, string>, fail = { now: false }) {
  const reads: string[][] = [];
  const poller = new ChangePoller(async (of: readonly QueueOfTarget[]) => {
    reads.push(of.map((o) => `${o.queue.table}@${o.target}`));
    if (fail.now) throw new Error('PostgreSQL is down');
    return of.map((o) => state[o.queue.table] ?? '');
  }, 5);
  return { poller, reads };
}

describe('watch: waking up and naming failures', () => {
  it('waits for the poll interval when nothing changed, and stops at once on the signal', async () => {
    const s = new Subscription('movies', queue('film_work_change'));
    const t0 = Date.now();
    assert.equal(await s.wait(60), 'poll');
    assert.ok(Date.now() - t0 >= 55);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 20);
    assert.equal(await s.wait(10_000, stop.signal), 'stopped');
  });

  it('a wake reaches a waiter at once, and one that came while nobody waited is kept for the next wait, once', async () => {
    const s = new Subscription('movies', queue('film_work_change'));
    setTimeout(() => s.wake(), 20);
    const t0 = Date.now();
    assert.equal(await s.wait(10_000), 'changed');
    assert.ok(Date.now() - t0 < 1_000);
    s.wake();
    s.wake();
    assert.equal(await s.wait(10_000), 'changed', 'kept while nobody waited');
    assert.equal(await s.wait(30), 'poll', 'and only once');
  });

  it('the poller wakes an index when its queue differs from the one seen at its last wake, and not again until it changes', async () => {
    const state = { film_work_change: '0:0:0', person_change: '0:0:0' };
    const { poller, reads } = fakePoller(state);
    const [films, persons] = [poller.subscribe('movies', queue('film_work_change')), poller.subscribe('persons', queue('person_change'))];
    films.target = 1;
    persons.target = 2;
    poller.start();
    try {
      // Never seen: the first look wakes both (the cycle before it may have left work behind).
      assert.deepEqual(await Promise.all([films.wait(1_000), persons.wait(1_000)]), ['changed', 'changed']);
      assert.ok(reads.some((r) => r.length === 2), 'indexes waiting at once are looked at in one read');
      assert.equal(await films.wait(100), 'poll', 'an unchanged queue wakes nobody');
      state.person_change = '1:7:123';
      assert.equal(await persons.wait(1_000), 'changed', 'a committed change wakes its index');
      assert.equal(await films.wait(100), 'poll', "another index's change does not wake this one");
      films.target = 3;
      assert.equal(await films.wait(1_000), 'changed', 'a new live target (a rebuild) is a change');
    } finally {
      await poller.close();
    }
  });

  it('looks only at indexes that wait and follow a target; a failing look wakes nobody', async () => {
    const state = { film_work_change: '0:0:0' };
    const fail = { now: false };
    const { poller, reads } = fakePoller(state, fail);
    const films = poller.subscribe('movies', queue('film_work_change'));
    poller.start();
    try {
      await sleep(50);
      assert.equal(reads.length, 0, 'no target yet: no look');
      films.target = 1;
      await sleep(50);
      assert.equal(reads.length, 0, 'not waiting (a cycle runs): no look');
      assert.equal(await films.wait(1_000), 'changed');
      fail.now = true;
      state.film_work_change = '5:9:1';
      assert.equal(await films.wait(100), 'poll', 'PostgreSQL down: only the poll interval ends the wait');
      fail.now = false;
      assert.equal(await films.wait(1_000), 'changed', 'seen once it answers again');
    } finally {
      await poller.close();
    }
  });

  it('names each failure kind for the metrics', () => {
    assert.equal(failureKind(new ConnectionError('x')), 'outage');
    assert.equal(failureKind(new IndexMissingError('x')), 'index_missing');
    assert.equal(failureKind(new EngineRejectedError('x')), 'engine_rejected');
    assert.equal(failureKind(new LockedError('x')), 'locked');
    assert.equal(failureKind(new Error('x')), 'internal');
  });
});
