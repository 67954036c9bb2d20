// Runs test files on a given Node.js with a given environment; returns the counts from TAP.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../services/config.mjs';

/**
 * Runs `files` with `node --test` (one file at a time, as `npm test` does), streaming the spec
 * reporter to this process's stdout and writing TAP to `tapFile`; resolves to the counts.
 */
export async function runSuites({ nodeBin, files, env, tapFile }) {
  fs.mkdirSync(path.dirname(tapFile), { recursive: true });
  const args = [
    '--import', 'tsx', '--test', '--test-concurrency=1',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
    ...files,
  ];
  const started = Date.now();
  // A runner's own NODE_TEST_CONTEXT would make these tests report to it instead of in TAP.
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
  const code = await new Promise((resolve) => {
    const child = spawn(nodeBin, args, {
      cwd: ROOT,
      // The CLI the tests spawn runs on process.execPath, so on this same Node.js.
      env: { ...inherited, ...env, PATH: `${path.dirname(nodeBin)}:${process.env.PATH}` },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', () => resolve(127));
    child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
  const seconds = (Date.now() - started) / 1000;
  return { code, seconds, ...tapCounts(readOr(tapFile, '')) };
}

function readOr(file, fallback) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** The summary counts of a TAP stream from node's test runner, and why tests were skipped. */
export function tapCounts(tap) {
  const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
  const skips = new Map();
  for (const m of tap.matchAll(/^\s*ok \d+ - (.*?) # SKIP ?(.*)$/gm)) {
    const reason = m[2].trim() || 'no reason given';
    skips.set(reason, (skips.get(reason) ?? 0) + 1);
  }
  return {
    tests: count('tests'),
    pass: count('pass'),
    fail: count('fail'),
    cancelled: count('cancelled'),
    skipped: count('skipped'),
    todo: count('todo'),
    skips: [...skips].map(([reason, n]) => ({ reason, n })),
  };
}
