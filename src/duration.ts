/** Durations like `90s`, `15m`, `24h`, `30d` → milliseconds. */
import { invalidInput } from "./errors.ts";

const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseDuration(text: string, what = "duration"): number {
  const match = /^(\d+)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!match) throw invalidInput(`${what} ${JSON.stringify(text)} is not a duration like 90s, 15m, 24h, 30d`);
  const ms = Number(match[1]) * units[match[2]!]!;
  if (ms <= 0) throw invalidInput(`${what} must be positive`);
  return ms;
}

/** A point in time from a duration from now (`30d`) or an ISO date (`2027-01-31`). */
export function parseExpiry(text: string, now: number): number {
  if (/^\d+(ms|s|m|h|d|w)$/.test(text.trim())) return now + parseDuration(text, "expiry");
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw invalidInput(`expiry ${JSON.stringify(text)} is neither a duration (30d) nor a date (2027-01-31)`);
  if (at <= now) throw invalidInput(`expiry ${JSON.stringify(text)} is in the past`);
  return at;
}
