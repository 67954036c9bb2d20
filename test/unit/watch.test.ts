import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangeListener } from '../../src/watch/listener.js';
import { failureKind } from '../../src/watch/metrics.js';
import { ConnectionError, EngineRejectedError, IndexMissingError, LockedError } from '../../src/errors.js';

const listener = () => new ChangeListener('postgres://nowhere/x', { connectMs: 1_000, statementMs: 1_000 }, () => undefined);
/** Stands for a notification arriving on the (never started) connection; no index named: a reconnection. */
const notify = (l: ChangeListener, index?: string) => (l as unknown as { wake(index?: string): void }).wake(index);

describe('watch: waking up and naming failures', () => {
  it('waits for the poll interval when nothing is notified, and stops at once on the signal', async () => {
    const l = listener().subscribe('movies');
    const t0 = Date.now();
    assert.equal(await l.wait(60), 'poll');
    assert.ok(Date.now() - t0 >= 55);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 20);
    assert.equal(await l.wait(10_000, stop.signal), 'stopped');
  });

  it('a notification wakes a waiter at once, and one that came while nobody waited is kept for the next wait, once', async () => {
    const c = listener();
    const l = c.subscribe('movies');
    setTimeout(() => notify(c, 'movies'), 20);
    const t0 = Date.now();
    assert.equal(await l.wait(10_000), 'notified');
    assert.ok(Date.now() - t0 < 1_000);
    notify(c, 'movies');
    notify(c, 'movies');
    assert.equal(await l.wait(10_000), 'notified', 'kept while nobody waited');
    assert.equal(await l.wait(30), 'poll', 'and only once');
  });

  it("each index waits on its own: a notification wakes the index it names, a reconnection wakes all", async () => {
    const c = listener();
    const [films, persons] = [c.subscribe('movies'), c.subscribe('persons')];
    notify(c, 'persons');
    assert.equal(await films.wait(30), 'poll', "another index's notification");
    assert.equal(await persons.wait(30), 'notified');
    notify(c);
    assert.equal(await films.wait(30), 'notified');
    assert.equal(await persons.wait(30), 'notified');
  });

  it('names each failure kind for the metrics', () => {
    assert.equal(failureKind(new ConnectionError('x')), 'outage');
    assert.equal(failureKind(new IndexMissingError('x')), 'index_missing');
    assert.equal(failureKind(new EngineRejectedError('x')), 'engine_rejected');
    assert.equal(failureKind(new LockedError('x')), 'locked');
    assert.equal(failureKind(new Error('x')), 'internal');
  });
});
