import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pages } from '../../src/etl/extractor.js';
import type { PendingRow } from '../../src/indexes/spec.js';

const row = (version: number): PendingRow => ({ id: `id-${version}`, version, doc: '{}' });

/** Pending versions with gaps; pages of at most `limit`, as pageEnd/readRange would give. */
function fakeSource(versions: number[], limit: number) {
  let inFlight = 0;
  let maxInFlight = 0;
  const ends: number[] = [];
  return {
    stats: () => ({ maxInFlight, ends }),
    end: async (after: number) => {
      ends.push(after);
      const next = versions.filter((v) => v > after).slice(0, limit);
      return next.length ? next[next.length - 1] : undefined;
    },
    read: async (after: number, last: number) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      return versions.filter((v) => v > after && v <= last).map(row);
    },
  };
}

describe('pages', () => {
  it('yields every pending film once, in version order, keyset by version', async () => {
    const versions = [3, 4, 9, 10, 11, 20, 21, 22, 40, 41, 42];
    for (const readAhead of [0, 1, 2, 5]) {
      const src = fakeSource(versions, 3);
      const seen: number[] = [];
      for await (const b of pages(src, readAhead)) {
        assert.ok(b.rows.length <= 3);
        assert.equal(b.lastVersion, b.rows[b.rows.length - 1]!.version);
        seen.push(...b.rows.map((r) => r.version));
      }
      assert.deepEqual(seen, versions);
      assert.ok(src.stats().maxInFlight <= readAhead + 1, `readAhead ${readAhead}`);
      assert.deepEqual(src.stats().ends, [0, 9, 20, 40, 42]);
    }
  });

  it('ends at once when nothing is pending', async () => {
    const src = fakeSource([], 3);
    for await (const _ of pages(src, 2)) assert.fail('no page expected');
  });

  it('propagates a failing read', async () => {
    const src = fakeSource([1, 2, 3, 4], 1);
    src.read = async () => {
      throw new Error('boom');
    };
    await assert.rejects(async () => {
      for await (const _ of pages(src, 2)) void _;
    }, /boom/);
  });
});
