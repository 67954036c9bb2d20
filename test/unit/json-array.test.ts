import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonArray, JsonArrayError } from '../../src/django/json-array.js';
import { Random } from '../../src/django/random.js';

async function* chunked(text: string, sizes: number[]): AsyncGenerator<string> {
  let i = 0;
  for (let k = 0; i < text.length; k++) {
    const n = sizes[k % sizes.length]!;
    yield text.slice(i, i + n);
    i += n;
  }
}

async function collect(text: string, sizes = [text.length || 1]): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const v of parseJsonArray(chunked(text, sizes))) out.push(v);
  return out;
}

const tricky: unknown[] = [
  { model: 'movies.genre', pk: 'a', fields: { genre: 'Quote " and \\ backslash', d: '}]{[,' } },
  { s: '\\', t: '\\\\"', u: 'é 日本 \u2028 😀', e: '' },
  [1, [2, [3, {}]], []],
  'top-level string with ] and , and "',
  -1.5e3,
  0,
  true,
  null,
  {},
  [],
];

test('parses any formatting and any chunking like JSON.parse', async () => {
  const rnd = new Random(7);
  const ws = [' ', '\n', '\r\n', '\t', '  \n\t'];
  for (let round = 0; round < 200; round++) {
    const pretty = round % 3 === 0 ? JSON.stringify(tricky, null, 2) : JSON.stringify(tricky);
    // Sprinkle whitespace between tokens of the top level.
    const parts = tricky.map((v) => (round % 2 ? JSON.stringify(v, null, round % 4) : JSON.stringify(v)));
    const spaced = `${rnd.pick(ws)}[${rnd.pick(ws)}${parts.join(`${rnd.pick(ws)},${rnd.pick(ws)}`)}${rnd.pick(ws)}]${rnd.pick(ws)}`;
    const text = round % 3 === 0 ? pretty : spaced;
    const sizes = [rnd.int(1, 7), rnd.int(1, 40), rnd.int(1, 3)];
    assert.deepEqual(await collect(text, sizes), tricky, `round ${round}`);
  }
});

test('empty arrays and single elements', async () => {
  assert.deepEqual(await collect('[]'), []);
  assert.deepEqual(await collect(' [ \n ] \n', [1]), []);
  assert.deepEqual(await collect('[1]'), [1]);
  assert.deepEqual(await collect('["a\\"]"]', [1]), ['a"]']);
});

test('invalid input fails with the number of elements read before', async () => {
  const cases: Array<[string, number, RegExp]> = [
    ['', 0, /empty input/],
    ['{"a":1}', 0, /expected "\["/],
    ['[{"a":1},{"b":', 1, /end of input/],
    ['[{"a":1}', 1, /end of input/],
    ['[{"a":1},]', 1, /expected a value/],
    ['[,1]', 0, /expected a value/],
    ['[{"a":1} {"b":2}]', 1, /expected "," or "\]"/],
    ['[{"a":1}] x', 1, /after the closing/],
    ['[{"a":1},{"b":}]', 1, /JSON/],
    ['[{"a":1},{"b":1]]', 1, /JSON/],
    ['[1,tru]', 1, /JSON/],
    ['[1,"a\nb"]', 1, /JSON/],
    ['[1,"abc', 1, /end of input/],
  ];
  for (const [text, after, message] of cases) {
    for (const sizes of [[text.length || 1], [1], [2, 3]]) {
      await assert.rejects(collect(text, sizes), (err: unknown) => {
        assert.ok(err instanceof JsonArrayError, `${text}: ${String(err)}`);
        assert.equal(err.after, after, text);
        assert.match(err.message, message, text);
        return true;
      });
    }
  }
});
