/**
 * API key format, modelled on GitHub's tokens: `mcpmt_<key id>_<secret><checksum>`.
 * The product prefix lets people and secret scanners recognise a key; the key id makes lookup a primary-key
 * read; 43 base62 characters carry 256 bits of randomness; a CRC32 checksum rejects typos without a lookup.
 */
import { timingSafeEqual } from "node:crypto";

export const keyPrefix = "mcpmt_";
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
const keyPattern = /^mcpmt_([0-9a-z]{12})_([0-9A-Za-z]{43})([0-9A-Za-z]{6})$/;

function randomString(alphabet: string, length: number): string {
  // Rejection sampling keeps every character uniformly distributed.
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

const crcTable = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = "";
  for (let i = 0; i < 6; i++) {
    out = base62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export type ParsedKey = { id: string; key: string };

/** A new key and its public id. */
export function generateApiKey(): ParsedKey {
  const id = randomString(idAlphabet, 12);
  const body = `${keyPrefix}${id}_${randomString(base62, 43)}`;
  return { id, key: body + checksum(body) };
}

/** Parses a presented key; null when the format or checksum is wrong (no database lookup needed). */
export function parseApiKey(key: string): ParsedKey | null {
  const match = keyPattern.exec(key);
  if (!match) return null;
  const body = key.slice(0, -6);
  if (checksum(body) !== match[3]) return null;
  return { id: match[1]!, key };
}

/** Whether a string looks like one of our keys (format only), e.g. to refuse it in a query string. */
export const looksLikeApiKey = (text: string) => text.startsWith(keyPrefix);

/** HMAC-SHA256 of the key under the server pepper, hex. */
export function hashApiKey(key: string, pepper: string): string {
  return new Bun.CryptoHasher("sha256", pepper).update(key).digest("hex");
}

/** Constant-time comparison of two hex hashes. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The part of a key that may be shown after creation. */
export const displayPrefix = (id: string) => `${keyPrefix}${id}`;
