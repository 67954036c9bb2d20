import chalk from 'chalk';
import ora, { type Ora } from 'ora';
import { scrub } from './redact.js';

/**
 * stdout carries results only; everything else goes to stderr. On a TTY progress is an ora
 * spinner; elsewhere (cron, CI) it is plain timestamped lines.
 */
export interface Reporter {
  warn(message: string): void;
  /** Starts or updates the progress line. */
  progress(text: string): void;
  done(): void;
  result(value: unknown, human: string): void;
}

export function createReporter(opts: { json?: boolean; quiet?: boolean } = {}): Reporter {
  const err = process.stderr;
  const tty = Boolean(err.isTTY) && !process.env.CI;
  let spinner: Ora | undefined;
  let lastPlain = 0;
  const line = (text: string) => err.write(`${new Date().toISOString()} ${scrub(text)}\n`);
  return {
    warn(message) {
      if (spinner) spinner.clear();
      line(tty ? chalk.yellow(message) : `warning: ${message}`);
      spinner?.render();
    },
    progress(text) {
      if (opts.quiet) return;
      if (tty) {
        spinner ??= ora({ stream: err }).start();
        spinner.text = text;
      } else if (Date.now() - lastPlain > 5000) {
        // Plain lines, at most one each 5 s, so cron logs stay readable.
        lastPlain = Date.now();
        line(text);
      }
    },
    done() {
      spinner?.stop();
      spinner = undefined;
    },
    result(value, human) {
      this.done();
      process.stdout.write(opts.json ? `${JSON.stringify(value)}\n` : `${human}\n`);
    },
  };
}
