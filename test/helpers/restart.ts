import { spawnSync } from 'node:child_process';
import { root } from './env.js';

/** The services:up server listening on `url`'s port (scripts/services/instances.mjs), for tests that restart it. */
export function serviceOf(url: string): string | undefined {
  const r = spawnSync(
    process.execPath,
    ['-e', "import('./scripts/services/instances.mjs').then((m) => console.log(Object.values(m.ALL).find((s) => s.url && new URL(s.url).port === process.argv[1])?.name ?? ''))", new URL(url).port],
    { cwd: root, encoding: 'utf8' },
  );
  return r.stdout.trim() || undefined;
}

/** Stops and starts a server of ours (a real restart: every session ends, the WAL is replayed). */
export function restartService(name: string): void {
  for (const step of ['down', 'up']) {
    const r = spawnSync(process.execPath, ['scripts/services.mjs', step, name], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`services ${step} ${name} failed: ${r.stderr}`);
  }
}
