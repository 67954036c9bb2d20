/*
 * Values from user input that error messages echo (a pk, a model name, an unknown key, a
 * field's value) can be any size: a 20 MB pk was once printed whole. These keep them short
 * and printable.
 */

/** Characters of a value kept in a message. */
export const CLIP = 80;

/** `text` cut to `max` characters, with "…" and the original length when it was longer. */
export function clip(text: string, max = CLIP): string {
  if (text.length <= max) return text;
  return `${head(text, max)}… (${text.length.toLocaleString('en-US')} characters)`;
}

/**
 * A value as it should appear in a message: a string JSON-quoted (so NULs, other control
 * characters and lone surrogates show as escapes, not raw), anything else as JSON; clipped like clip().
 */
export function quote(value: unknown, max = CLIP): string {
  if (typeof value !== 'string') return clip(JSON.stringify(value) ?? String(value), max);
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(head(value, max)).slice(0, -1)}…" (${value.length.toLocaleString('en-US')} characters)`;
}

/** The first `max` characters, one fewer rather than half of a surrogate pair. */
function head(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
