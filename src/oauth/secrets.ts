/** Random tokens and their hashes: secrets are stored only as SHA-256, compared in constant time. */
import { createHash, timingSafeEqual } from "node:crypto";

export const randomToken = (bytes = 32) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** PKCE S256: base64url(SHA-256(verifier)) must equal the challenge sent to /authorize. */
export function pkceMatches(verifier: string, challenge: string): boolean {
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return false;
  return sameText(createHash("sha256").update(verifier).digest("base64url"), challenge);
}
