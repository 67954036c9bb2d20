import { chalkStderr } from 'chalk';
import ora, { type Ora } from 'ora';
import { scrub } from '../core/redact.js';
import type { Progress } from '../core/progress.js';
import { barLine, PLAIN_EVERY_MS, plainLine, Tracker } from './progress.js';
import { colorAllowed, spinnerAllowed, stamped, visible } from './terminal.js';

/** How often the progress line is redrawn (elapsed time, ETA) and a quiet phase's log line considered. */
const TICK_MS = 250;
/** Width assumed for the bar when the terminal does not say (spinnerAllowed needs it to). */
const DEFAULT_COLUMNS = 80;

/**
 * stdout carries results only; everything else goes to stderr. On a terminal progress is an ora
 * spinner with a bar (done/total, percent, rate, ETA); elsewhere (cron, CI, a pipe) it is plain
 * lines with the same figures, one when a phase begins and one each PLAIN_EVERY_MS, and every line,
 * the result's too, starts with a timestamp, except --json output, which stays pure JSON.
 */
export interface Reporter {
  warn(message: string): void;
  /** A log line on stderr (one per watch cycle, say); none with --quiet. */
  info(message: string): void;
  /** Reports how far the work is (src/core/progress.ts); a new phase name starts a new phase. */
  progress(p: Progress): void;
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
  let ticker: NodeJS.Timeout | undefined;
  const tracker = new Tracker();
  // Log lines on stderr always carry the time, on a terminal too (they were always stamped).
  const line = (text: string) => err.write(`${stamped(text)}\n`);
  const barText = () => {
    const p = tracker.progress!;
    return printable(barLine(p, tracker.figures(Date.now()), err.columns || DEFAULT_COLUMNS));
  };
  const plain = () => {
    lastPlain = Date.now();
    line(printable(plainLine(tracker.progress!, tracker.figures(lastPlain))));
  };
  // Keeps a quiet phase visible: the terminal's elapsed time and ETA move, and a log gets its line every PLAIN_EVERY_MS.
  const tick = () => {
    if (spinner) spinner.text = barText();
    else if (Date.now() - lastPlain >= PLAIN_EVERY_MS) plain();
  };
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
    progress(p) {
      if (opts.quiet) return;
      const fresh = tracker.update(p, Date.now());
      if (!ticker) {
        ticker = setInterval(tick, TICK_MS);
        // A forgotten done() must not keep the process alive.
        ticker.unref();
      }
      if (spinner) {
        spinner.text = barText();
      } else if (spinnerAllowed(err, io.env)) {
        spinner = ora({
          text: barText(),
          stream: err,
          isEnabled: true,
          color: color ? 'cyan' : false,
          // Both would make ora install process-wide handlers: hiding the cursor registers a
          // signal-exit hook that re-raises SIGINT (killing us before the run can stop cleanly),
          // and discarding stdin puts the terminal in raw mode. The CLI handles signals itself.
          hideCursor: false,
          discardStdin: false,
        }).start();
      } else if (fresh || Date.now() - lastPlain >= PLAIN_EVERY_MS) {
        // Plain lines: a phase as it begins, then at most one each PLAIN_EVERY_MS, so cron logs stay readable.
        plain();
      }
    },
    done() {
      if (ticker) clearInterval(ticker);
      ticker = undefined;
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
