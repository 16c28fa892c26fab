/**
 * Redirect URIs: what a client may register, and the exact match at /authorize. The only leeway is
 * RFC 8252's: a loopback http redirect matches on any port (native apps pick a free one each time).
 */
import { invalidInput } from "../errors.ts";

const loopbackHosts = new Set(["127.0.0.1", "[::1]", "localhost"]);
const forbiddenSchemes = new Set(["javascript:", "data:", "file:", "vbscript:", "blob:", "about:"]);

/** Refuses redirect URIs that could leak a code: fragments, http to a non-loopback host, script-like schemes. */
export function assertRegistrableRedirect(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw invalidInput(`redirect_uri ${JSON.stringify(uri)} is not an absolute URL`);
  }
  if (url.hash || uri.includes("#")) throw invalidInput(`redirect_uri ${JSON.stringify(uri)} must not have a fragment`);
  if (forbiddenSchemes.has(url.protocol)) throw invalidInput(`redirect_uri ${JSON.stringify(uri)} uses a forbidden scheme`);
  if (url.protocol === "http:" && !loopbackHosts.has(url.hostname)) throw invalidInput(`redirect_uri ${JSON.stringify(uri)}: http is only allowed to a loopback address (127.0.0.1, [::1], localhost); use https`);
  if (url.username || url.password) throw invalidInput(`redirect_uri ${JSON.stringify(uri)} must not carry credentials`);
}

/** True when `presented` is one of the registered URIs, exactly (loopback http: any port). */
export function redirectMatches(registered: string[], presented: string): boolean {
  if (registered.includes(presented)) return true;
  let url: URL;
  try {
    url = new URL(presented);
  } catch {
    return false;
  }
  if (url.protocol !== "http:" || !loopbackHosts.has(url.hostname)) return false;
  const portless = (u: URL) => `${u.protocol}//${u.hostname}${u.pathname}${u.search}`;
  return registered.some((candidate) => {
    try {
      const reg = new URL(candidate);
      return reg.protocol === "http:" && loopbackHosts.has(reg.hostname) && portless(reg) === portless(url);
    } catch {
      return false;
    }
  });
}
