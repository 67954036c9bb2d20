/**
 * What may reach a terminal or a log file. Film titles, error messages from servers and file
 * names come from data we do not control: an ANSI escape in a title could recolour, hide or
 * rewrite what the user sees, so control characters are shown as escapes, never sent raw.
 */

// C0 controls except \t and \n, DEL, and C1 controls (ESC is \x1b, in C0).
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** Replaces control characters (but \n and \t) with a visible \xNN / \uNNNN escape. */
export function visible(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** https://no-color.org: a NO_COLOR that is set and not empty turns colour off. */
export function noColor(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NO_COLOR !== undefined && env.NO_COLOR !== '';
}

/** Colour only for a terminal, and never when NO_COLOR asks for none. */
export function colorAllowed(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !noColor(env) && env.TERM !== 'dumb';
}

/**
 * A spinner redraws one line in place: it needs a real terminal that reports its width. A width
 * of 0 (seen under script(1)) made ora's line count infinite and its redraw loop spin forever.
 */
export function spinnerAllowed(stream: { isTTY?: boolean; columns?: number }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && (stream.columns ?? 0) > 0 && !env.CI && env.TERM !== 'dumb';
}

/** Prefixes every line with the time, so lines in a cron log can be dated and told apart. */
export function stamped(text: string, now: Date = new Date()): string {
  const ts = now.toISOString();
  return text
    .split('\n')
    .map((line) => `${ts} ${line}`)
    .join('\n');
}
