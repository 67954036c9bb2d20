import { createInterface } from 'node:readline';
import { InterruptedError } from '../core/errors.js';
import { printable } from './output.js';

/** Nobody answering for this long is a no: a forgotten prompt must not hold a process forever. */
export const ANSWER_BOUND_MS = 5 * 60_000;

export interface PromptIo {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

/**
 * Asks a yes/no question on stderr and reads one line from stdin: only "y" or "yes" is a yes;
 * end of input or no answer within `boundMs` is a no. The terminal stays in cooked mode, so
 * Ctrl-C is SIGINT as everywhere else: the stop signal ends the question (exit 130).
 */
export function confirm(question: string, signal?: AbortSignal, io: PromptIo = { input: process.stdin, output: process.stderr }, boundMs = ANSWER_BOUND_MS): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: io.input, terminal: false });
    let settled = false;
    const finish = (end: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      rl.close();
      end();
    };
    const timer = setTimeout(() => finish(() => resolve(false)), boundMs);
    const onAbort = () => finish(() => reject(new InterruptedError(`interrupted (${String(signal?.reason)}) before an answer`)));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    rl.once('line', (answer) => finish(() => resolve(/^\s*y(es)?\s*$/i.test(answer))));
    rl.once('close', () => finish(() => resolve(false)));
    io.output.write(printable(question));
  });
}
