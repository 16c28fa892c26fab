/** Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps), the optional second factor of members. */
import { createHmac } from "node:crypto";
import { sameText } from "./secrets.ts";

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const stepMs = 30_000;

export function newTotpSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let bits = "";
  for (const b of bytes) bits += b.toString(2).padStart(8, "0");
  return bits.match(/.{5}/g)!.map((chunk) => alphabet[parseInt(chunk, 2)]).join("");
}

function decodeBase32(secret: string): Buffer {
  const bits = [...secret.replace(/=+$/, "").toUpperCase()].map((c) => alphabet.indexOf(c).toString(2).padStart(5, "0")).join("");
  return Buffer.from((bits.match(/.{8}/g) ?? []).map((byte) => parseInt(byte, 2)));
}

/** The code of one time step. */
export function totpCode(secret: string, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", decodeBase32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, "0");
}

/** The step a code matches (now, or one step either side for clock drift), or null. */
export function matchTotp(secret: string, code: string, now: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const current = Math.floor(now / stepMs);
  for (const step of [current, current - 1, current + 1]) if (sameText(totpCode(secret, step), code)) return step;
  return null;
}

export const otpauthUri = (secret: string, account: string) => `otpauth://totp/${encodeURIComponent(`mcp-mt:${account}`)}?secret=${secret}&issuer=mcp-mt&algorithm=SHA1&digits=6&period=30`;
