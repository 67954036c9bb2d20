import chalk from 'chalk';
import { CommanderError } from 'commander';
import { ExitCode, MoviesError } from './errors.js';
import { scrub } from './redact.js';

/** The one place that turns an error into a message and an exit code, and exits. */
export function exitWith(err: unknown, debug: boolean): never {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? 0 : ExitCode.usage);
  }
  const known = err instanceof MoviesError;
  const message = scrub(err instanceof Error ? err.message : String(err));
  const color = process.stderr.isTTY ? chalk.red : (s: string) => s;
  process.stderr.write(`${color('error:')} ${known ? message : `unexpected failure: ${message}`}\n`);
  if (debug && err instanceof Error && err.stack) {
    process.stderr.write(`${scrub(err.stack)}\n`);
  } else if (!known) {
    process.stderr.write('run again with --debug for the stack trace\n');
  }
  process.exit(known ? err.exitCode : ExitCode.internal);
}
