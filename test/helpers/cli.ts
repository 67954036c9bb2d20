import { spawn } from 'node:child_process';
import { root } from './env.js';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would: a separate process, argv and environment only. */
export function runCli(args: string[], env: Record<string, string>, opts: { timeoutMs?: number } = {}): Promise<CliRun> & { pid?: number; kill(signal?: NodeJS.Signals): void } {
  const child = spawn(process.execPath, [`${root}bin/movies`, ...args], {
    // The film-pipeline suites work on the film index alone; multi-index tests pass MOVIES_ONLY themselves.
    env: { PATH: process.env.PATH ?? '', MOVIES_ONLY: 'movies', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const done = new Promise<CliRun>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  }) as Promise<CliRun> & { pid?: number; kill(signal?: NodeJS.Signals): void };
  done.pid = child.pid;
  done.kill = (signal = 'SIGTERM') => child.kill(signal);
  return done;
}
