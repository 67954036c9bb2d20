import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLIP, clip, quote } from '../../src/core/clip.js';

const wellFormed = (s: string) => !/[\ud800-\udfff]/u.test(s);

test('clip keeps short text and cuts long text, saying how long it was', () => {
  assert.equal(clip(''), '');
  assert.equal(clip('x'.repeat(CLIP)), 'x'.repeat(CLIP));
  const long = 'y'.repeat(20_000_000);
  const out = clip(long);
  assert.ok(out.startsWith('y'.repeat(CLIP)));
  assert.ok(!out.startsWith('y'.repeat(CLIP + 1)));
  assert.match(out, /… \(20,000,000 characters\)$/);
  assert.ok(out.length < CLIP + 40);
  assert.equal(clip('abcdef', 3), 'abc… (6 characters)');
});

test('clip never splits a surrogate pair', () => {
  for (let before = CLIP - 3; before <= CLIP + 1; before++) {
    const text = `${'a'.repeat(before)}😀${'b'.repeat(CLIP)}`;
    assert.ok(wellFormed(clip(text)), `pair at ${before}`);
    assert.ok(wellFormed(quote(text)), `pair at ${before}`);
  }
});

test('quote shows strings as JSON, with NUL, controls and lone surrogates escaped', () => {
  assert.equal(quote('Twice'), '"Twice"');
  assert.equal(quote('a\u0000b\u001b[31m\ud800'), '"a\\u0000b\\u001b[31m\\ud800"');
  const q = quote(`"${'\u0000'.repeat(1000)}`);
  assert.ok(q.startsWith('"\\"\\u0000'));
  assert.match(q, /…" \(1,001 characters\)$/);
  assert.ok(!q.includes('\u0000'));
});

test('quote shows other values as JSON, clipped', () => {
  assert.equal(quote(42), '42');
  assert.equal(quote(null), 'null');
  assert.equal(quote(undefined), 'undefined');
  assert.equal(quote({ a: [1] }), '{"a":[1]}');
  const big = quote(Array.from({ length: 100_000 }, (_, i) => i));
  assert.ok(big.startsWith('[0,1,2,'));
  assert.match(big, /… \([\d,]+ characters\)$/);
  assert.ok(big.length < CLIP + 40);
});
