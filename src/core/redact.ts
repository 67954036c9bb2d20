const secrets = new Set<string>();

/** Remembers a secret so that scrub() removes it from anything we print. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 3) secrets.add(value);
}

/** Last line of defence: every message we print passes through here. */
export function scrub(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  for (const s of secrets) out = out.split(encodeURIComponent(s)).join('***');
  return out;
}

/** Removes credentials from a URL so it can be shown to users and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}
