import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tapCounts } from '../../scripts/compat/run-suites.mjs';

test('tapCounts reads the counts and skip reasons of a real TAP run of node --test', () => {
  const dir = mkdtempSync(join(tmpdir(), 'movies-tap-'));
  const file = join(dir, 'sample.test.mjs');
  writeFileSync(file, [
    "import { describe, it } from 'node:test';",
    "it('passes', () => {});",
    "it('passes too', () => {});",
    "it('fails', () => { throw new Error('no'); });",
    "it('is skipped', { skip: 'needs a cluster' }, () => {});",
    "it('is skipped again', { skip: 'needs a cluster' }, () => {});",
    "it('is skipped otherwise', (t) => t.skip('fixture absent'));",
    '',
  ].join('\n'));
  // Without NODE_TEST_CONTEXT, which would make the child report to this runner instead of in TAP.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], { encoding: 'utf8', env });
  const counts = tapCounts(r.stdout);
  assert.deepEqual(
    { tests: counts.tests, pass: counts.pass, fail: counts.fail, skipped: counts.skipped },
    { tests: 6, pass: 2, fail: 1, skipped: 3 },
    r.stdout,
  );
  assert.deepEqual(counts.skips.sort((a, b) => a.reason.localeCompare(b.reason)), [
    { reason: 'fixture absent', n: 1 },
    { reason: 'needs a cluster', n: 2 },
  ]);
});

test('tapCounts of no output is all zeros, which the matrix counts as a failed cell', () => {
  assert.deepEqual(tapCounts(''), { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0, skips: [] });
});
