import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonArrayError, parseJsonArray, parseNonFinite } from '../../src/django/json-array.js';

async function* chunked(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function collect(text: string, size: number, nonFinite: boolean): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const v of parseJsonArray(chunked(text, size), { nonFinite })) out.push(v);
  return out;
}

// What Python's json.dumps writes for float('nan'), float('inf') and -float('inf').
const python =
  '[{"model":"movies.filmwork","pk":"a","fields":{"imdb_rating":NaN,"t":"NaN \\" Infinity"}},' +
  ' {"x":[Infinity, -Infinity, 1, "-Infinity"], "y": {"z":NaN}}, NaN, -Infinity, {"ok":true}]';

test('without the option, NaN and Infinity are invalid JSON, as JSON says', async () => {
  await assert.rejects(collect(python, python.length, false), (err: unknown) => {
    assert.ok(err instanceof JsonArrayError);
    assert.equal(err.after, 0);
    return true;
  });
});

test('with it, they are read as the numbers they name, wherever they are and however the text is cut', async () => {
  for (const size of [python.length, 1, 2, 7]) {
    const [film, nested, nan, minusInf, ok] = await collect(python, size, true);
    assert.deepEqual(film, { model: 'movies.filmwork', pk: 'a', fields: { imdb_rating: Number.NaN, t: 'NaN " Infinity' } });
    assert.deepEqual(nested, { x: [Infinity, -Infinity, 1, '-Infinity'], y: { z: Number.NaN } });
    assert.ok(Number.isNaN(nan));
    assert.equal(minusInf, -Infinity);
    assert.deepEqual(ok, { ok: true });
  }
});

test('anything else invalid stays invalid', async () => {
  const cases: Array<[string, number]> = [
    ['[{"a":NaNx}]', 0],
    ['[{"a":-NaN}]', 0],
    ['[{"a":nan}]', 0],
    ['[{"a":infinity}]', 0],
    ['[1,{"a":NaN,}]', 1],
    ['[1,{"a":NaN "b":1}]', 1],
    ['[{"a":1 NaN}]', 0],
    ['[{"a":Infinityy}]', 0],
  ];
  for (const [text, after] of cases) {
    await assert.rejects(collect(text, 3, true), (err: unknown) => {
      assert.ok(err instanceof JsonArrayError, `${text}: ${String(err)}`);
      assert.equal(err.after, after, text);
      return true;
    });
  }
});

test('parseNonFinite leaves strings alone, escapes included', () => {
  assert.equal(parseNonFinite('{"a":"NaN"}'), undefined, 'nothing to read');
  assert.deepEqual(parseNonFinite('{"a\\"NaN":NaN,"b":"\\\\","c":Infinity}'), { 'a"NaN': Number.NaN, b: '\\', c: Infinity });
});
