import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';

/*
 * Staging rows go to PostgreSQL by COPY ... FROM STDIN in its text format, one COPY per chunk.
 * The INSERT ... SELECT unnest($1::type[], ...) this replaces had node-pg write every column as an
 * array literal and PostgreSQL parse it back and unnest it row by row.
 */

/** A value in COPY's text format: \N for null; backslash, tab, newline and CR escaped. */
export function copyText(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, escape) : s;
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const escape = (c: string) => ESCAPES[c]!;

/** Columns (one array per column, equal lengths) as COPY text: one line per row. */
export function copyLines(cols: unknown[][]): string {
  const rows = cols[0]?.length ?? 0;
  const parts: string[] = new Array<string>(rows);
  for (let r = 0; r < rows; r++) {
    let line = copyText(cols[0]![r]);
    for (let c = 1; c < cols.length; c++) line += '\t' + copyText(cols[c]![r]);
    parts[r] = line;
  }
  return parts.length ? parts.join('\n') + '\n' : '';
}

/** The 1-based line of the COPY data a PostgreSQL error names ("COPY t, line 3, column x: ..."), if any. */
export function copyErrorLine(err: { where?: string }): number | undefined {
  const m = /\bCOPY [^,]+, line (\d+)/.exec(err.where ?? '');
  return m ? Number(m[1]) : undefined;
}

/** COPY `cols` into `table` on the transaction's own connection. */
export async function copyInto(trx: Knex.Transaction, table: string, cols: unknown[][]): Promise<void> {
  // In a transaction, knex hands out the transaction's connection (makeTxClient).
  const conn = (await trx.client.acquireConnection()) as pg.Client;
  const stream = conn.query(copyStreams.from(`COPY ${table} FROM STDIN`));
  await pipeline(Readable.from([copyLines(cols)]), stream);
}
