import { chalkStderr } from 'chalk';
import { CommanderError } from 'commander';
import { ExitCode, MoviesError } from '../core/errors.js';
import { forStream, printable } from './output.js';
import { colorAllowed } from './terminal.js';

/** The one place that turns an error into a message and an exit code, and exits. */
export function exitWith(err: unknown, debug: boolean): never {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? 0 : ExitCode.usage);
  }
  const known = err instanceof MoviesError;
  const stderr = process.stderr;
  // Escaped before colouring, so that our own colour codes are the only ones that get through.
  const message = printable(err instanceof Error ? err.message : String(err));
  const label = colorAllowed(stderr) ? chalkStderr.red('error:') : 'error:';
  const lines = [`${label} ${known ? message : `unexpected failure: ${message}`}`];
  if (!debug && !known) lines.push('run again with --debug for the stack trace');
  stderr.write(forStream(`${lines.join('\n')}\n`, stderr));
  if (debug && err instanceof Error && err.stack) {
    // The stack is printed as it is (controls made visible), without timestamps: it is one block
    // for a developer, and its "    at" lines stay what tools and people look for.
    stderr.write(`${printable(err.stack)}\n`);
  }
  process.exit(known ? err.exitCode : ExitCode.internal);
}

/**
 * A command that ended normally after a stop signal (a watch: a signal is how it ends) exits 0
 * at once: a request it gave up on (one that never answers; its pages stay pending) would
 * otherwise keep its socket, and the process, alive until the stop bound exits 130.
 */
export function exitAfterStop(): never {
  process.exit(ExitCode.ok);
}
