import { chalkStderr } from 'chalk';
import { CommanderError } from 'commander';
import { ExitCode, MoviesError, type ExitCodeValue } from '../core/errors.js';
import { forStream, json, printable } from './output.js';
import { colorAllowed } from './terminal.js';

/** The stable name of each exit code in --json errors: ExitCode's key in snake_case (usage, connection, invalid_data, …). */
const KINDS = new Map<number, string>(Object.entries(ExitCode).map(([k, v]) => [v, k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]));
export const errorKind = (exit: ExitCodeValue | number) => KINDS.get(exit) ?? 'internal';

/** What --json prints on stdout for a failure: one object, one line. */
export interface ErrorJson {
  error: { exit: number; kind: string; message: string };
}

/** Errors whose --json object already went out inside the result (status, verify): not printed twice. */
const inResult = new WeakSet<object>();

/** The --json error object of `err`; a command that prints it in its result marks it so that exitWith does not repeat it. */
export function errorJson(err: MoviesError, opts: { inResult?: boolean } = {}): ErrorJson['error'] {
  if (opts.inResult) inResult.add(err);
  return { exit: err.exitCode, kind: errorKind(err.exitCode), message: printable(err.message) };
}

/** Commander's message without its own "error: " prefix. */
const commanderMessage = (err: CommanderError) => err.message.replace(/^error: /, '');

/** The one place that turns an error into a message and an exit code, and exits. */
export function exitWith(err: unknown, opts: { debug: boolean; json: boolean }): never {
  if (err instanceof CommanderError) {
    // Help and --version end with code 0; every other commander error (already printed on stderr) is a usage error.
    if (err.exitCode === 0) process.exit(0);
    if (opts.json) writeJson({ exit: ExitCode.usage, kind: errorKind(ExitCode.usage), message: printable(commanderMessage(err)) });
    process.exit(ExitCode.usage);
  }
  const known = err instanceof MoviesError;
  const stderr = process.stderr;
  // Escaped before colouring, so that our own colour codes are the only ones that get through.
  const message = printable(err instanceof Error ? err.message : String(err));
  const label = colorAllowed(stderr) ? chalkStderr.red('error:') : 'error:';
  const lines = [`${label} ${known ? message : `unexpected failure: ${message}`}`];
  if (!opts.debug && !known) lines.push('run again with --debug for the stack trace');
  stderr.write(forStream(`${lines.join('\n')}\n`, stderr));
  if (opts.debug && err instanceof Error && err.stack) {
    // The stack is printed as it is (controls made visible), without timestamps: it is one block
    // for a developer, and its "    at" lines stay what tools and people look for.
    stderr.write(`${printable(err.stack)}\n`);
  }
  const exit = known ? err.exitCode : ExitCode.internal;
  if (opts.json && !(known && inResult.has(err))) {
    writeJson({ exit, kind: errorKind(exit), message: known ? message : `unexpected failure: ${message}` });
  }
  process.exit(exit);
}


function writeJson(error: ErrorJson['error']): void {
  process.stdout.write(`${json({ error } satisfies ErrorJson)}\n`);
}

/**
 * A command that ended normally after a stop signal (a watch: a signal is how it ends) exits 0
 * at once: a request it gave up on (one that never answers; its pages stay pending) would
 * otherwise keep its socket, and the process, alive until the stop bound exits 130.
 */
export function exitAfterStop(): never {
  process.exit(ExitCode.ok);
}
