import { InterruptedError } from '../core/errors.js';
import { exitWith } from './exit.js';

/*
 * The first SIGINT/SIGTERM aborts the command's signal: retries stop, no new page is taken, and
 * pages already sent get a few seconds to be marked. If the command has not ended within
 * STOP_BOUND_MS (a frozen server it cannot abort), or on a second signal, it exits 130 at once.
 * The same handlers serve a terminal's Ctrl-C and a service manager's SIGTERM.
 */
export const STOP_BOUND_MS = 10_000;

export function stopSignal(flags: () => { debug: boolean; json: boolean }): AbortSignal {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      exitWith(new InterruptedError(`${sig} again: stopped at once; unmarked work stays pending`), flags());
    }
    controller.abort(sig);
    setTimeout(
      () => exitWith(new InterruptedError(`did not stop within ${STOP_BOUND_MS / 1000} s of ${sig}; unmarked work stays pending`), flags()),
      STOP_BOUND_MS,
    ).unref();
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);
  return controller.signal;
}
