import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshDatabase } from '../helpers/db.js';
import { serviceEnv } from '../helpers/env.js';
import { copyErrorLine, copyInto } from '../../src/django/copy.js';

/*
 * loaddata stages by COPY in text format (src/django/copy.ts): every string must arrive as it
 * was, and a value PostgreSQL refuses must be traceable to its row.
 */
const services = serviceEnv();

describe('staging by COPY', () => {
  let h: Awaited<ReturnType<typeof freshDatabase>>;
  before(async () => {
    h = await freshDatabase(services.DATABASE_URL, 'movies_copy');
  });
  after(() => h.drop());

  it('stores strings with backslashes, tabs, newlines, CRs, \\N and unicode unchanged, and null as NULL', async () => {
    const texts = ['plain', 'back\\slash', 'tab\there', 'new\nline', 'cr\rlf\r\n', '\\N', '\\.', '', 'é日😀\u2028\u001b', 'end\\'];
    const rows = await h.db.transaction(async (trx) => {
      await trx.raw('CREATE TEMP TABLE t (n int, s text, d date, f float8) ON COMMIT DROP');
      const n = texts.map((_, i) => i);
      await copyInto(trx, 't', [
        [...n, texts.length],
        [...texts, null],
        [...n.map(() => '2001-02-03'), null],
        [...n.map((i) => i / 3), null],
      ]);
      return (await trx.raw<{ rows: Array<{ n: number; s: string | null; d: string | null; f: number | null }> }>(
        "SELECT n, s, d::text AS d, f FROM t ORDER BY n",
      )).rows;
    });
    assert.deepEqual(rows.map((r) => r.s), [...texts, null]);
    assert.deepEqual(rows.map((r) => r.f), [...texts.map((_, i) => i / 3), null]);
    assert.equal(rows.at(-1)!.d, null);
    assert.equal(rows[0]!.d, '2001-02-03');
  });

  it('a refused value names its line, which is the row of the chunk', async () => {
    const err = await h.db
      .transaction(async (trx) => {
        await trx.raw('CREATE TEMP TABLE t (n int, d date) ON COMMIT DROP');
        await copyInto(trx, 't', [[1, 2, 3, 4], ['2001-02-03', '2001-02-04', '2001-02-30', '2001-02-05']]);
      })
      .then(
        () => undefined,
        (e: unknown) => e as { code?: string; where?: string },
      );
    assert.ok(err, 'COPY of 2001-02-30 into a date column failed');
    assert.match(err.code ?? '', /^22/);
    assert.equal(copyErrorLine(err), 3);
  });
});
