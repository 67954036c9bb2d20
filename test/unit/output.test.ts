import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReporter, forStream, json, type Io } from '../../src/cli/output.js';
import { colorAllowed, spinnerAllowed, stamped, visible } from '../../src/cli/terminal.js';

const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

/** A stream that records what is written; `tty` and `columns` say what kind of terminal it is. */
function fakeStream(tty: boolean, columns?: number) {
  const chunks: string[] = [];
  const stream = {
    isTTY: tty,
    columns,
    write(chunk: string) {
      chunks.push(String(chunk));
      return true;
    },
    // What ora needs of a terminal.
    cursorTo: () => true,
    moveCursor: () => true,
    clearLine: () => true,
  };
  return { stream, text: () => chunks.join('') };
}

function io(o: { stdoutTty?: boolean; stderrTty?: boolean; columns?: number; env?: NodeJS.ProcessEnv } = {}) {
  const out = fakeStream(o.stdoutTty ?? false);
  const err = fakeStream(o.stderrTty ?? false, o.columns);
  // The fake has the members the reporter and ora use; the rest of WriteStream is not needed.
  const streams = { stdout: out.stream, stderr: err.stream as unknown as NodeJS.WriteStream, env: o.env ?? {} } as Io;
  return { streams, out: out.text, err: err.text };
}

describe('visible', () => {
  it('shows C0 controls (but newline and tab), DEL and C1 as escapes', () => {
    const s = visible('a\u001b[31mb\u0007c\rd\u007fe\u009bf\u0000g\nh\ti');
    assert.equal(s, 'a\\x1b[31mb\\x07c\\x0dd\\x7fe\\x9bf\\x00g\nh\ti');
    assert.doesNotMatch(s.replace(/[\n\t]/g, ''), RAW_CONTROL);
  });

  it('leaves other text, Cyrillic and emoji included, as it is', () => {
    const s = 'Звёздные войны — Star Wars 🎬 (1977)';
    assert.equal(visible(s), s);
  });
});

describe('stamped and forStream', () => {
  it('prefixes every line with the time', () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    assert.equal(stamped('one\ntwo', at), '2026-01-02T03:04:05.678Z one\n2026-01-02T03:04:05.678Z two');
  });

  it('stamps lines for a pipe, keeps a final newline unstamped, and leaves a terminal alone', () => {
    const piped = forStream('a\nb\n', { isTTY: false });
    assert.ok(piped.endsWith('\n'));
    const lines = piped.slice(0, -1).split('\n');
    assert.equal(lines.length, 2);
    for (const l of lines) assert.match(l, STAMP);
    assert.equal(forStream('a\nb\n', { isTTY: true }), 'a\nb\n');
  });
});

describe('json', () => {
  it('escapes DEL and C1 too, and still parses to the same value', () => {
    const value = { title: 'a\u001b[2Jb\u007fc\u009bd' };
    const text = json(value);
    assert.doesNotMatch(text, RAW_CONTROL);
    assert.deepEqual(JSON.parse(text), value);
  });
});

describe('colour and spinner decisions', () => {
  it('honours NO_COLOR (set and not empty) and needs a terminal', () => {
    assert.equal(colorAllowed({ isTTY: true }, {}), true);
    assert.equal(colorAllowed({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(colorAllowed({ isTTY: true }, { NO_COLOR: '' }), true);
    assert.equal(colorAllowed({ isTTY: false }, {}), false);
  });

  it('spins only on a terminal that reports a width', () => {
    assert.equal(spinnerAllowed({ isTTY: true, columns: 80 }, {}), true);
    assert.equal(spinnerAllowed({ isTTY: true, columns: 0 }, {}), false);
    assert.equal(spinnerAllowed({ isTTY: true }, {}), false);
    assert.equal(spinnerAllowed({ isTTY: false, columns: 80 }, {}), false);
    assert.equal(spinnerAllowed({ isTTY: true, columns: 80 }, { CI: 'true' }), false);
  });
});

describe('reporter', () => {
  it('--json: stdout is exactly one JSON line, without a timestamp', () => {
    const t = io();
    createReporter({ json: true }, t.streams).result({ n: 1, title: 'x\u001by' }, 'human');
    assert.deepEqual(JSON.parse(t.out()), { n: 1, title: 'x\u001by' });
    assert.doesNotMatch(t.out(), STAMP);
  });

  it('human result to a pipe: every line stamped, controls escaped', () => {
    const t = io();
    createReporter({}, t.streams).result({}, 'first \u001b[31mred\nsecond');
    const lines = t.out().trimEnd().split('\n');
    assert.equal(lines.length, 2);
    for (const l of lines) assert.match(l, STAMP);
    assert.doesNotMatch(t.out(), RAW_CONTROL);
    assert.match(t.out(), /first \\x1b\[31mred/);
  });

  it('human result to a terminal: as rendered, without timestamps', () => {
    const t = io({ stdoutTty: true });
    createReporter({}, t.streams).result({}, 'one\ntwo');
    assert.equal(t.out(), 'one\ntwo\n');
  });

  it('warnings are stamped, escaped and uncoloured under NO_COLOR', () => {
    const t = io({ stderrTty: true, columns: 80, env: { NO_COLOR: '1' } });
    createReporter({}, t.streams).warn('server said \u001b]0;pwned\u0007');
    assert.match(t.err(), STAMP);
    assert.match(t.err(), /warning: server said \\x1b\]0;pwned\\x07/);
    assert.doesNotMatch(t.err(), RAW_CONTROL);
  });

  it('a terminal of 0 columns gets a plain progress line, not a spinner', () => {
    const t = io({ stderrTty: true, columns: 0 });
    const r = createReporter({}, t.streams);
    r.progress({ phase: 'indexing', done: 1, total: 2, unit: 'films' });
    r.progress({ phase: 'indexing', done: 2, total: 2, unit: 'films' });
    r.done();
    assert.match(t.err(), STAMP);
    assert.equal(t.err().split('\n').filter(Boolean).length, 1, 'at most one plain line per 5 s');
    assert.match(t.err(), /indexing: 1\/2 films \(50%\)/);
    assert.doesNotMatch(t.err(), /\x1b/);
  });

  it('off a terminal, a new phase is printed at once, the same phase at most once per 5 s', () => {
    const t = io();
    const r = createReporter({}, t.streams);
    r.progress({ phase: 'reading fixture', done: 1, total: 10, unit: 'bytes' });
    r.progress({ phase: 'reading fixture', done: 2, total: 10, unit: 'bytes' });
    r.progress({ phase: 'committing' });
    r.progress({ phase: 'analyzing' });
    r.done();
    const lines = t.err().trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => l.replace(STAMP, '').split(':')[0]), ['reading fixture', 'committing', 'analyzing']);
    for (const l of lines) assert.match(l, STAMP);
  });

  it('a terminal with a width gets the spinner; --quiet gets nothing', () => {
    const t = io({ stderrTty: true, columns: 80, env: { NO_COLOR: '1' } });
    const r = createReporter({}, t.streams);
    r.progress({ phase: 'indexing', done: 1, total: 2, unit: 'films' });
    r.done();
    assert.match(t.err(), /indexing ▕█+░+▏ 50% 1\/2 films/);
    assert.doesNotMatch(t.err(), STAMP, 'a spinner frame, not a log line');
    assert.doesNotMatch(t.err(), /\x1b\[[0-9;]*m/, 'no colour under NO_COLOR');

    const q = io({ stderrTty: true, columns: 80 });
    const quiet = createReporter({ quiet: true }, q.streams);
    quiet.progress({ phase: 'x' });
    quiet.done();
    assert.equal(q.err(), '');
  });
});
