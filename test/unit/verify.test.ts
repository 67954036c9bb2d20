import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DocStamp } from '../../src/engine/types.js';
import { byteOrder, suspects, type Suspect } from '../../src/verify/compare.js';
import { confirm, judge, type Readers } from '../../src/verify/confirm.js';
import type { Current, Expected } from '../../src/verify/expected.js';
import { Cursor, keysetPages } from '../../src/verify/pages.js';
import { canonicalJson, expectedFingerprint, indexedFingerprint } from '../../src/verify/fingerprint.js';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

async function* pagesOf<T>(items: T[], size: number): AsyncGenerator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

async function allSuspects(expected: Expected[], indexed: DocStamp[], limit = 3, page = 2): Promise<Suspect[]> {
  const out: Suspect[] = [];
  for await (const s of suspects(new Cursor(pagesOf(expected, page)), new Cursor(pagesOf(indexed, page)), limit)) {
    assert.ok(s.suspects.length <= limit, 'a stretch holds at most `limit` suspects');
    out.push(...s.suspects);
  }
  return out;
}

describe('verify: merging the two sorted readings', () => {
  it('names missing, stale and orphan documents, and strays under another _id', async () => {
    const expected = [1, 2, 3, 5, 6].map((n) => ({ id: id(n), hash: `h${n}` }));
    const indexed: DocStamp[] = [
      { _id: id(1), id: id(1), hash: 'h1' },
      { _id: id(3), id: id(3), hash: 'other' },
      { _id: id(4), id: id(4), hash: 'h4' },
      { _id: 'hand', id: id(5), hash: 'h5' },
      { _id: id(6), id: id(6) },
      { _id: id(7), id: id(7), hash: 'h7' },
    ];
    assert.deepEqual(await allSuspects(expected, indexed), [
      { id: id(2), kind: 'missing' },
      { id: id(3), kind: 'stale' },
      { id: id(4), kind: 'orphan' },
      { id: 'hand', kind: 'orphan', stray: true },
      { id: id(5), kind: 'missing' },
      { id: id(6), kind: 'stale' },
      { id: id(7), kind: 'orphan' },
    ]);
  });

  it('an empty index: every document missing, in stretches of the limit', async () => {
    const expected = Array.from({ length: 7 }, (_, i) => ({ id: id(i), hash: 'h' }));
    const found = await allSuspects(expected, []);
    assert.deepEqual(found.map((s) => s.id), expected.map((e) => e.id));
    assert.ok(found.every((s) => s.kind === 'missing'));
  });

  it('orders as the engine does: by UTF-8 bytes, not UTF-16 code units', () => {
    // U+FF5E (3 bytes, EF BD 9E) sorts before U+1F600 (4 bytes, F0 ...) as bytes, after it as code units.
    assert.ok(byteOrder('\uff5e', '\u{1f600}') < 0);
    assert.ok('\uff5e' > '\u{1f600}');
    assert.ok(byteOrder(id(1), id(2)) < 0);
  });

  it('a page read ahead that fails is met at the next peek, not as an unhandled rejection', async () => {
    async function* failing(): AsyncGenerator<string[]> {
      yield ['a'];
      throw new Error('engine gone');
    }
    const cursor = new Cursor(failing());
    assert.equal(await cursor.peek(), 'a');
    // The read-ahead fails while the consumer is busy elsewhere.
    await new Promise((r) => setTimeout(r, 20));
    cursor.advance();
    await assert.rejects(cursor.peek(), /engine gone/);
  });

  it('keyset pages end at the first short page and ask from the last key', async () => {
    const asked: Array<string | undefined> = [];
    const data = [1, 2, 3, 4, 5].map(id);
    const read = async (after: string | undefined) => {
      asked.push(after);
      return data.filter((x) => after === undefined || x > after).slice(0, 2);
    };
    const got: string[] = [];
    for await (const p of keysetPages(read, (x) => x, 2)) got.push(...p);
    assert.deepEqual(got, data);
    assert.deepEqual(asked, [undefined, id(2), id(4)]);
  });
});

describe('verify: confirming a suspect', () => {
  const db = (hash: string | null, pending = false): Current => ({ hash, pending });

  it('judges one reading', () => {
    assert.equal(judge(id(1), db('a'), { _id: id(1), id: id(1), hash: 'a' }), 'ok');
    assert.equal(judge(id(1), db('a', true), undefined), 'pending');
    assert.equal(judge(id(1), db(null), undefined), 'ok');
    assert.equal(judge(id(1), undefined, undefined), 'ok');
    assert.equal((judge(id(1), db('a'), undefined) as { kind: string }).kind, 'missing');
    assert.equal((judge(id(1), db(null), { _id: id(1), id: id(1), hash: 'a' }) as { kind: string }).kind, 'orphan');
    assert.equal((judge(id(1), db('a'), { _id: id(1), id: id(1), hash: 'b' }) as { kind: string }).kind, 'stale');
    assert.equal((judge(id(1), db('a'), { _id: id(1), id: id(2), hash: 'a' }) as { kind: string }).kind, 'stale', 'an id field that is not its _id');
  });

  /** Readers that answer from a script of states, one per reading, engine then database. */
  function scripted(states: Array<{ engine: DocStamp | undefined; db: Current }>): Readers & { readings: number } {
    let e = 0;
    let d = 0;
    const r = {
      readings: 0,
      engine: async () => {
        const s = states[Math.min(e++, states.length - 1)]!;
        r.readings = e;
        return s.engine ? [s.engine] : [];
      },
      database: async () => new Map([[id(1), states[Math.min(d++, states.length - 1)]!.db]]),
    };
    return r;
  }

  it('the same drift in two readings in a row is drift', async () => {
    const doc = { _id: id(1), id: id(1), hash: 'old' };
    const v = await confirm([id(1)], scripted([{ engine: doc, db: db('new') }, { engine: doc, db: db('new') }]));
    assert.deepEqual(v, { drifted: [{ id: id(1), kind: 'stale' }], pending: [], changing: [] });
  });

  it('a run that writes and marks between the two reads of one reading is not drift', async () => {
    // Reading 1: the engine still has the old document; by the database read the run has written
    // the new one and marked it (not pending). Reading 2 sees the engine in step.
    const r = scripted([
      { engine: { _id: id(1), id: id(1), hash: 'old' }, db: db('new') },
      { engine: { _id: id(1), id: id(1), hash: 'new' }, db: db('new') },
    ]);
    assert.deepEqual(await confirm([id(1)], r), { drifted: [], pending: [], changing: [] });
    assert.equal(r.readings, 2);
  });

  it('pending is not drift; a document that changes at every reading is "changing" after the last', async () => {
    assert.deepEqual(await confirm([id(1)], scripted([{ engine: undefined, db: db('a', true) }])), { drifted: [], pending: [id(1)], changing: [] });
    const flux = scripted([1, 2, 3].map((n) => ({ engine: { _id: id(1), id: id(1), hash: `e${n}` }, db: db(`d${n}`) })));
    assert.deepEqual(await confirm([id(1)], flux, 3), { drifted: [], pending: [], changing: [id(1)] });
  });

  it('an _id that is no uuid is never asked of the database', async () => {
    const asked: string[][] = [];
    const r: Readers = {
      engine: async () => [{ _id: 'hand', hash: 'x' }],
      database: async (ids) => {
        asked.push(ids);
        return new Map();
      },
    };
    assert.deepEqual((await confirm(['hand'], r)).drifted, [{ id: 'hand', kind: 'orphan' }]);
    assert.deepEqual(asked, []);
  });
});

describe('verify --deep: fingerprints', () => {
  it('canonical JSON sorts keys at every level and keeps array order', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: null, c: 'x' }, 2] }), '{"a":[{"c":"x","d":null},2],"b":1}');
    assert.notEqual(canonicalJson({ a: [1, 2] }), canonicalJson({ a: [2, 1] }));
  });

  it('a document PostgreSQL wrote and the same content as the engine returns it have one fingerprint', () => {
    const doc = '{"id" : "x", "title" : "Сталкер", "imdb_rating" : 8.1, "actors" : [{"id" : "p", "name" : "A"}]}';
    const stored = createHash('md5').update(Buffer.from(doc, 'utf8')).digest('hex');
    const source = { title: 'Сталкер', actors: [{ name: 'A', id: 'p' }], imdb_rating: 8.1, id: 'x' };
    assert.equal(indexedFingerprint(stored, source), expectedFingerprint(doc));
    assert.notEqual(indexedFingerprint(stored, { ...source, title: 'Edited' }), expectedFingerprint(doc), 'an edit that kept the hash');
    assert.notEqual(indexedFingerprint(undefined, source), expectedFingerprint(doc), 'a document without its hash');
  });
});
