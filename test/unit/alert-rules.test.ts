import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { WatchMetrics } from '../../src/watch/metrics.js';

const rules = readFileSync(new URL('../../ops/prometheus/movies.rules.yml', import.meta.url), 'utf8');

describe('shipped alert rules', () => {
  it('name only metrics and labels the watch exports (or, for cron, the textfile wrapper writes)', async () => {
    const m = new WatchMetrics(['movies'], 'opensearch');
    m.setTargetQueues('movies', [{ target: 7, state: 'live', cluster: 'c', alias: 'movies', rows: 3, oldestChangeSeconds: 90 }]);
    const exported = await m.registry.metrics();
    const wrapper = readFileSync(new URL('../../ops/prometheus/movies-status-textfile.sh', import.meta.url), 'utf8');
    const all = [...new Set(rules.match(/\bmovies_[a-z_]+/g) ?? [])];
    // `movies status` from cron: its metrics come from the textfile wrapper, not the watch.
    const cron = all.filter((n) => n.startsWith('movies_status_'));
    assert.deepEqual(cron.sort(), ['movies_status_exit_code', 'movies_status_last_run_timestamp_seconds']);
    for (const n of cron) assert.match(wrapper, new RegExp(`^  echo "${n}\\{`, 'm'), `${n} is written by the wrapper`);
    const names = all.filter((n) => !cron.includes(n));
    assert.ok(names.includes('movies_target_oldest_change_seconds'));
    for (const name of names) assert.match(exported, new RegExp(`^${name}[{ ]`, 'm'), `${name} is exported`);
    assert.match(exported, /^movies_target_oldest_change_seconds\{index="movies",target="7",state="live"\} 90(\.\d+)?$/m);
    assert.match(exported, /^movies_target_queue_rows\{index="movies",target="7",state="live"\} 3$/m);
  });

  it("a target's oldest change goes on ageing between two readings; a target gone from a reading loses its series", async () => {
    const m = new WatchMetrics(['movies'], 'opensearch');
    m.setTargetQueues('movies', [{ target: 1, state: 'live', cluster: 'c', alias: 'movies', rows: 3, oldestChangeSeconds: 10 }, { target: 2, state: 'kept', cluster: 'c', alias: 'movies', rows: 0, oldestChangeSeconds: 0 }]);
    await new Promise((r) => setTimeout(r, 300));
    const first = await m.registry.metrics();
    const age = Number(/^movies_target_oldest_change_seconds\{index="movies",target="1",state="live"\} (\S+)$/m.exec(first)![1]);
    assert.ok(age >= 10.25 && age < 11, `aged to ${age}`);
    assert.match(first, /^movies_target_oldest_change_seconds\{index="movies",target="2",state="kept"\} 0$/m, 'nothing pending: 0');
    m.setTargetQueues('movies', [{ target: 1, state: 'live', cluster: 'c', alias: 'movies', rows: 0, oldestChangeSeconds: 0 }]);
    const second = await m.registry.metrics();
    assert.doesNotMatch(second, /target="2"/);
  });
});
