/** Secrets out of anything printed: URL credentials, secret-looking query parameters and secret keys. */

const secretKey = /(secret|password|passwd|token|api[_-]?key|pepper|master[_-]?key|credential)/i;
const secretParam = /^(password|passwd|pass|pwd|token|access_token|secret|key|api_key|apikey|auth|sig|signature)$/i;
export const redacted = "REDACTED";

/** A URL with its user, password and secret query parameters replaced; other text unchanged. */
export function redactUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not parseable, but may still carry user:password@: cut that part out by hand.
    return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, `$1${redacted}@`);
  }
  let changed = false;
  if (url.username || url.password) {
    url.username = redacted;
    url.password = "";
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (secretParam.test(name)) {
      url.searchParams.set(name, redacted);
      changed = true;
    }
  }
  return changed ? url.toString() : text;
}

/** A deep copy with every secret-named non-empty string and every URL credential redacted. */
export function redactSecrets<T>(value: T, key = ""): T {
  if (typeof value === "string") return (value !== "" && secretKey.test(key) && !/_file$/.test(key) ? "(set, redacted)" : redactUrl(value)) as T;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, key)) as T;
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, k)])) as T;
  return value;
}
