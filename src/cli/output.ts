import { chalkStderr } from 'chalk';
import ora, { type Ora } from 'ora';
import { scrub } from '../core/redact.js';
import { colorAllowed, spinnerAllowed, stamped, visible } from './terminal.js';

/**
 * stdout carries results only; everything else goes to stderr. On a terminal progress is an ora
 * spinner; elsewhere (cron, CI, a pipe) it is plain lines, and every line, the result's too, starts
 * with a timestamp, except --json output, which stays pure JSON.
 */
export interface Reporter {
  warn(message: string): void;
  /** A log line on stderr (one per watch cycle, say); none with --quiet. */
  info(message: string): void;
  /** Starts or updates the progress line. */
  progress(text: string): void;
  done(): void;
  result(value: unknown, human: string): void;
}

/** The streams and environment a reporter writes to (tests pass their own). */
export interface Io {
  stdout: Pick<NodeJS.WriteStream, 'write' | 'isTTY'>;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

const processIo = (): Io => ({ stdout: process.stdout, stderr: process.stderr, env: process.env });

/** Text from anywhere (data, servers, argv) made safe to print: secrets out, controls visible. */
export const printable = (text: string) => visible(scrub(text));

/** Stamps each line unless `stream` is a terminal, keeping a final newline unstamped. */
export function forStream(text: string, stream: { isTTY?: boolean }): string {
  if (stream.isTTY) return text;
  const nl = text.endsWith('\n');
  const body = stamped(nl ? text.slice(0, -1) : text);
  return nl ? `${body}\n` : body;
}

/**
 * JSON.stringify escapes C0 controls but leaves DEL and C1 raw, which some terminals act on;
 * they can only occur inside strings, where a \u escape is the same value.
 */
export const json = (value: unknown) =>
  JSON.stringify(value).replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

export function createReporter(opts: { json?: boolean; quiet?: boolean } = {}, io: Io = processIo()): Reporter {
  const err = io.stderr;
  const color = colorAllowed(err, io.env);
  const yellow = (s: string) => (color ? chalkStderr.yellow(s) : s);
  let spinner: Ora | undefined;
  let lastPlain = 0;
  // Log lines on stderr always carry the time, on a terminal too (they were always stamped).
  const line = (text: string) => err.write(`${stamped(text)}\n`);
  return {
    warn(message) {
      spinner?.clear();
      line(`${yellow('warning:')} ${printable(message)}`);
      spinner?.render();
    },
    info(message) {
      if (opts.quiet) return;
      spinner?.clear();
      line(printable(message));
      spinner?.render();
    },
    progress(text) {
      if (opts.quiet) return;
      if (spinner) {
        spinner.text = printable(text);
      } else if (spinnerAllowed(err, io.env)) {
        spinner = ora({
          text: printable(text),
          stream: err,
          isEnabled: true,
          color: color ? 'cyan' : false,
          // Both would make ora install process-wide handlers: hiding the cursor registers a
          // signal-exit hook that re-raises SIGINT (killing us before the run can stop cleanly),
          // and discarding stdin puts the terminal in raw mode. The CLI handles signals itself.
          hideCursor: false,
          discardStdin: false,
        }).start();
      } else if (Date.now() - lastPlain > 5000) {
        // Plain lines, at most one each 5 s, so cron logs stay readable.
        lastPlain = Date.now();
        line(printable(text));
      }
    },
    done() {
      spinner?.stop();
      spinner = undefined;
    },
    result(value, human) {
      this.done();
      io.stdout.write(opts.json ? `${json(value)}\n` : forStream(`${printable(human)}\n`, io.stdout));
    },
  };
}

/**
 * Commander's own output (usage errors, help after an error) goes through the same rules as ours:
 * `program.configureOutput(commanderOutput())` in cli.ts.
 */
export function commanderOutput(io: Io = processIo()) {
  return {
    writeErr: (text: string) => void io.stderr.write(forStream(printable(text), io.stderr)),
  };
}
