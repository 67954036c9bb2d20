import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { barLine, duration, plainLine, Tracker } from '../../src/cli/progress.js';

describe('duration', () => {
  it('seconds, minutes and seconds, hours and minutes', () => {
    assert.equal(duration(0), '0s');
    assert.equal(duration(42.4), '42s');
    assert.equal(duration(185), '3m05s');
    assert.equal(duration(2 * 3600 + 7 * 60 + 30), '2h07m');
  });
});

describe('Tracker: rate and ETA', () => {
  it('a steady 1,000 units/s gives that rate and the time left at it', () => {
    const t = new Tracker();
    t.update({ phase: 'indexing', done: 0, total: 20_000, unit: 'films' }, 0);
    for (let s = 1; s <= 10; s++) t.update({ phase: 'indexing', done: s * 1000, total: 20_000, unit: 'films' }, s * 1000);
    const f = t.figures(10_000);
    assert.equal(Math.round(f.rate!), 1000);
    assert.equal(Math.round(f.etaSeconds!), 10);
    assert.equal(f.percent, 50);
    assert.equal(f.elapsedSeconds, 10);
  });

  it('smooths: one fast burst moves the rate only part of the way', () => {
    const t = new Tracker();
    t.update({ phase: 'p', done: 0, total: 1e6 }, 0);
    for (let s = 1; s <= 10; s++) t.update({ phase: 'p', done: s * 100 }, s * 1000);
    t.update({ phase: 'p', done: 1000 + 10_000 }, 11_000);
    const rate = t.figures(11_000).rate!;
    assert.ok(rate > 100 && rate < 5000, `between the old rate and the burst: ${rate}`);
  });

  it('a stalled phase shows its rate falling and its ETA growing', () => {
    const t = new Tracker();
    t.update({ phase: 'p', done: 0, total: 10_000 }, 0);
    for (let s = 1; s <= 5; s++) t.update({ phase: 'p', done: s * 1000, total: 10_000 }, s * 1000);
    const early = t.figures(5_000);
    const later = t.figures(15_000);
    assert.ok(later.rate! < early.rate!, `${later.rate} < ${early.rate}`);
    assert.ok(later.etaSeconds! > early.etaSeconds!);
  });

  it('a new phase (or scope) starts afresh: elapsed from 0, no rate carried over', () => {
    const t = new Tracker();
    assert.equal(t.update({ phase: 'a', done: 0, total: 10 }, 0), true);
    assert.equal(t.update({ phase: 'a', done: 5, total: 10 }, 1000), false);
    assert.equal(t.update({ phase: 'a', scope: 'genres', done: 0, total: 10 }, 2000), true);
    const f = t.figures(2000);
    assert.equal(f.elapsedSeconds, 0);
    assert.equal(f.rate, undefined);
    assert.equal(f.etaSeconds, undefined);
  });

  it('done at total: 100% and ETA 0; beyond the total stays at 100%', () => {
    const t = new Tracker();
    t.update({ phase: 'p', done: 0, total: 10 }, 0);
    t.update({ phase: 'p', done: 12, total: 10 }, 1000);
    const f = t.figures(1000);
    assert.equal(f.percent, 100);
    assert.equal(f.etaSeconds, 0);
  });
});

describe('plainLine and barLine', () => {
  const reading = { phase: 'reading fixture', done: 26_600_000, total: 59_000_000, unit: 'bytes', count: { n: 98_000, unit: 'objects' } };
  const figures = { percent: 45.08, rate: 12_100_000, etaSeconds: 2.7, elapsedSeconds: 2.2 };

  it('a log line: phase, done/total, percent, rate, ETA and the running count', () => {
    assert.equal(plainLine(reading, figures), 'reading fixture: 26.6/59.0 MB (45%), 12 MB/s, ETA 3s, 98,000 objects');
    assert.equal(
      plainLine({ scope: 'movies', phase: 'indexing', done: 1200, total: 20_000, unit: 'films' }, { percent: 6, rate: 540.4, etaSeconds: 34.8, elapsedSeconds: 2 }),
      'movies: indexing: 1,200/20,000 films (6%), 540 films/s, ETA 35s',
    );
  });

  it('a phase that cannot say how far it is shows how long it has run', () => {
    assert.equal(plainLine({ phase: 'committing' }, { elapsedSeconds: 12.2 }), 'committing: 12s');
    assert.equal(plainLine({ phase: 'queueing every document', done: 150_000, unit: 'films' }, { rate: 30_000, elapsedSeconds: 5 }), 'queueing every document: 150,000 films, 30,000 films/s, 5s');
  });

  it('the bar fits the terminal and shows the percent; a narrow one drops the bar, never wraps', () => {
    const wide = barLine(reading, figures, 120);
    assert.match(wide, /^reading fixture ▕█+░+▏ 45% 26\.6\/59\.0 MB · 12 MB\/s · ETA 3s · 98,000 objects$/);
    assert.equal((wide.match(/[█░]/g) ?? []).length, 30, 'at most 30 cells');
    for (const columns of [100, 80, 60, 40, 20]) {
      const line = barLine(reading, figures, columns);
      assert.ok(line.length <= columns - 3, `${columns}: ${line}`);
    }
    assert.doesNotMatch(barLine(reading, figures, 60), /▕/);
    assert.match(barLine(reading, figures, 60), /45%/);
    assert.equal(barLine({ phase: 'analyzing' }, { elapsedSeconds: 3 }, 80), 'analyzing · 3s');
  });

  it('the bar fills in proportion', () => {
    const line = (percent: number) => barLine({ phase: 'p', done: percent, total: 100, unit: 'films' }, { percent, elapsedSeconds: 1 }, 200);
    assert.equal((line(0).match(/█/g) ?? []).length, 0);
    assert.equal((line(50).match(/█/g) ?? []).length, 15);
    assert.equal((line(100).match(/░/g) ?? []).length, 0);
  });
});
