import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionError, EngineRejectedError, IndexMissingError } from '../../src/core/errors.js';
import { EngineHttpError, type BulkItemResult, type SearchEngine } from '../../src/engine/types.js';
import { bulkItems } from '../../src/engine/normalize.js';
import { sendBulk } from '../../src/etl/loader.js';
import type { BulkAction, BulkPage } from '../../src/etl/transformer.js';

/** One action's lines; `page()` lays several out in one body, as the transformer does. */
const lines = (n: number, op: 'index' | 'delete' = 'index', source = `{"n":${n}}`) => {
  const meta = JSON.stringify({ [op]: { _index: 'ix', _id: idOf(n) } });
  return { id: idOf(n), version: n, op, text: op === 'index' ? `${meta}\n${source}\n` : `${meta}\n` };
};
const idOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
function page(...items: Array<ReturnType<typeof lines>>): BulkPage {
  let at = 0;
  const actions: BulkAction[] = items.map((x) => {
    const a = { id: x.id, version: x.version, op: x.op, start: at, end: at + x.text.length };
    at = a.end;
    return a;
  });
  return { body: items.map((x) => x.text).join(''), actions };
}
const pageOf = (...ns: number[]) => page(...ns.map((n) => lines(n)));
const idsIn = (body: string) =>
  body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, { _id?: string }>)
    .flatMap((x) => Object.values(x).map((m) => m._id).filter((id): id is string => Boolean(id)));

/** A plain fake: answers each bulk body with whatever `answer` returns for its ids. */
function fakeEngine(answer: (ids: string[], call: number) => BulkItemResult[]): SearchEngine & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    kind: 'opensearch',
    version: 'fake',
    calls,
    bulk: async (body: string) => {
      const ids = idsIn(body);
      calls.push(ids);
      return answer(ids, calls.length);
    },
  } as unknown as SearchEngine & { calls: string[][] };
}
const ok = (id: string): BulkItemResult => ({ id, index: 'ix', action: 'index', status: 201 });
const quick = { retry: { maxRetryTimeMs: 300 } };
const dest = { target: 1, write: 'ix', physical: 'ix', viaAlias: true };

describe('loader: an answer acknowledges only item by item', () => {
  it('acknowledges each action by its own 2xx item (404 for a delete)', async () => {
    const p = page(lines(1), lines(2, 'delete'));
    const engine = fakeEngine((ids) => [ok(ids[0]!), { id: ids[1]!, index: 'ix', action: 'delete', status: 404 }]);
    const r = await sendBulk(engine, p, dest, quick);
    assert.deepEqual(r.acknowledged.map((a) => a.id), [idOf(1), idOf(2)]);
  });

  for (const [name, answer] of [
    ['no items', () => []],
    ['too few items', (ids: string[]) => [ok(ids[0]!)]],
    ['items for other ids', (ids: string[]) => ids.map((_, i) => ok(`other-${i}`))],
    ['items without _id', (ids: string[]) => ids.map(() => ({ id: '', index: 'ix', action: 'index', status: 201 }))],
  ] as Array<[string, (ids: string[]) => BulkItemResult[]]>) {
    it(`${name}: retried, then exit 3 with nothing acknowledged`, async () => {
      const engine = fakeEngine(answer);
      await assert.rejects(sendBulk(engine, pageOf(1, 2), dest, quick), ConnectionError);
      assert.ok(engine.calls.length > 1, 'the request was retried');
    });
  }

  it('resends only the items answered 429/502/503/504', async () => {
    const engine = fakeEngine((ids, call) =>
      ids.map((id, i) => (call === 1 && i > 0 ? { id, index: 'ix', action: 'index', status: [429, 503, 504][i - 1]! } : ok(id))),
    );
    const r = await sendBulk(engine, pageOf(1, 2, 3, 4), dest, { retry: { maxRetryTimeMs: 5_000 } });
    assert.deepEqual(engine.calls[1], [2, 3, 4].map(idOf));
    assert.equal(r.acknowledged.length, 4);
  });

  it('an item still 503 past the budget is an outage (exit 3), not a rejection', async () => {
    const engine = fakeEngine((ids) => ids.map((id) => ({ id, index: 'ix', action: 'index', status: 503, error: { type: 'unavailable_shards_exception', reason: 'x' } })));
    await assert.rejects(sendBulk(engine, pageOf(1), dest, quick), ConnectionError);
  });

  it('a mapping error fails the page naming the film (exit 5), or is recorded with skipInvalid', async () => {
    const bad = (ids: string[]) => ids.map((id) => ({ id, index: 'ix', action: 'index', status: 400, error: { type: 'document_parsing_exception', reason: 'bad title' } }));
    await assert.rejects(sendBulk(fakeEngine(bad), pageOf(7), dest, quick), (e: unknown) => e instanceof EngineRejectedError && e.message.includes(idOf(7)));
    const r = await sendBulk(fakeEngine(bad), pageOf(7), dest, { ...quick, skipInvalid: true });
    assert.equal(r.acknowledged.length, 0);
    assert.equal(r.rejected[0]!.id, idOf(7));
    assert.match(r.rejected[0]!.rule, /document_parsing_exception/);
  });

  it('413 splits the request until each part fits; one document alone too large is named', async () => {
    const p = page(lines(1), lines(2), lines(3, 'index', JSON.stringify({ pad: 'x'.repeat(1000) })), lines(4), lines(5));
    const limit = 600;
    const engine = {
      ...fakeEngine(() => []),
      bulk: async (body: string) => {
        if (body.length > limit) throw new EngineHttpError('HTTP 413: ', 413, undefined);
        return idsIn(body).map(ok);
      },
    } as unknown as SearchEngine;
    await assert.rejects(sendBulk(engine, p, dest, quick), (e: unknown) => e instanceof EngineRejectedError && e.message.includes(idOf(3)) && /1,\d{3} bytes.*413/.test(e.message));
    const r = await sendBulk(engine, p, dest, { ...quick, skipInvalid: true });
    assert.deepEqual(r.acknowledged.map((a) => a.id).sort(), [1, 2, 4, 5].map(idOf));
    assert.deepEqual(r.rejected.map((x) => x.id), [idOf(3)]);
  });

  it('bulkItems never reads an acknowledgement into a malformed body', () => {
    assert.deepEqual(bulkItems('<html>ok</html>'), []);
    assert.deepEqual(bulkItems(null), []);
    assert.deepEqual(bulkItems({ items: 'x' }), []);
    assert.deepEqual(bulkItems({ items: [null, { index: { status: '201' } }] }).map((i) => [i.id, i.status]), [['', 0], ['', 0]]);
  });

  it('an item written to another index than the target acknowledges nothing (the alias was moved)', async () => {
    const engine = fakeEngine((ids) => ids.map((id) => ({ ...ok(id), index: 'someone-else' })));
    await assert.rejects(sendBulk(engine, pageOf(1, 2), dest, quick), (e: unknown) => e instanceof IndexMissingError && /someone-else/.test(e.message));
  });

  it('an index gone behind the alias (require_alias refused) fails the page without a retry', async () => {
    const engine = fakeEngine((ids) => ids.map((id) => ({ id, index: 'ix', action: 'index', status: 404, error: { type: 'index_not_found_exception', reason: 'no such index' } })));
    await assert.rejects(sendBulk(engine, pageOf(1), dest, quick), IndexMissingError);
    assert.equal(engine.calls.length, 1);
  });
});
