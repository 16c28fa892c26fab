/**
 * Failed-authentication limiting that never refuses a valid credential. Failures are counted per (client
 * address, claimed key id): a stranger sending bad keys only ever throttles the key ids it names from its own
 * address, never another key used from the same address. A global budget bounds the whole: once every
 * address together has failed more than it per minute, an (address, key id) that has already failed is refused
 * at its first failure again, and new failures are no longer tracked (memory stays bounded).
 */
import { keyPrefix } from "../auth/api-key.ts";
import { looksLikeJwt } from "../auth/jwt.ts";

const windowMs = 60_000;
/** Hard ceiling on tracked (address, key id) pairs, whatever the budgets say. */
const maxTracked = 100_000;

/** Two fixed windows blended into a sliding estimate: small, exact enough for a failure budget. */
type Counter = { start: number; current: number; previous: number };

function estimate(counter: Counter, now: number): number {
  roll(counter, now);
  const weight = 1 - (now - counter.start) / windowMs;
  return counter.current + counter.previous * Math.max(0, weight);
}

function roll(counter: Counter, now: number): void {
  const elapsed = now - counter.start;
  if (elapsed < windowMs) return;
  counter.previous = elapsed < 2 * windowMs ? counter.current : 0;
  counter.current = 0;
  counter.start = elapsed < 2 * windowMs ? counter.start + windowMs : now;
}

/** The key id a presented credential claims, from its shape alone (no lookup): what failures are counted under. */
export function claimedKeyId(credential: string | null): string {
  if (credential === null) return "-";
  if (credential.startsWith(keyPrefix)) {
    const id = /^mcpmt_([0-9a-z]{12})_/.exec(credential)?.[1];
    return id ? `key:${id}` : "-";
  }
  if (looksLikeJwt(credential)) {
    try {
      const payload = JSON.parse(Buffer.from(credential.split(".")[1]!, "base64url").toString("utf8")) as { sub?: unknown };
      if (typeof payload.sub === "string") return `jwt:${payload.sub.slice(0, 64)}`;
    } catch {
      // not decodable: counted with the other malformed credentials
    }
  }
  return "-";
}

export type AuthFailureOptions = { perMinute: number; globalPerMinute: number; clock?: () => number };

export class AuthFailureLimiter {
  readonly #pairs = new Map<string, Counter>();
  readonly #global: Counter;
  readonly #perMinute: number;
  readonly #globalPerMinute: number;
  readonly #clock: () => number;

  /** The clock must be monotonic: a wall-clock step must neither unlock nor lock out. */
  constructor({ perMinute, globalPerMinute, clock = () => performance.now() }: AuthFailureOptions) {
    this.#perMinute = perMinute;
    this.#globalPerMinute = globalPerMinute;
    this.#clock = clock;
    this.#global = { start: clock(), current: 0, previous: 0 };
    setInterval(() => this.sweep(), windowMs).unref?.();
  }

  get tracked(): number {
    return this.#pairs.size;
  }

  /** Whether the global budget is spent (then failures are not audited one by one either). */
  get overBudget(): boolean {
    return estimate(this.#global, this.#clock()) >= this.#globalPerMinute;
  }

  /** Seconds to wait when this (address, key id) must be refused before its credential is looked at; else null. */
  refusal(address: string, keyId: string): number | null {
    const counter = this.#pairs.get(`${address}\u0000${keyId}`);
    if (!counter) return null;
    const now = this.#clock();
    const failures = estimate(counter, now);
    const limit = this.overBudget ? 1 : this.#perMinute;
    if (failures < limit) return null;
    return Math.max(1, Math.ceil((counter.start + windowMs - now) / 1000));
  }

  /** Counts one failed authentication. */
  fail(address: string, keyId: string): void {
    const now = this.#clock();
    roll(this.#global, now);
    this.#global.current++;
    const key = `${address}\u0000${keyId}`;
    const counter = this.#pairs.get(key);
    if (counter) {
      roll(counter, now);
      counter.current++;
      return;
    }
    if (this.overBudget) return;
    if (this.#pairs.size >= maxTracked) this.#sweep(now);
    if (this.#pairs.size >= maxTracked) return;
    this.#pairs.set(key, { start: now, current: 1, previous: 0 });
  }

  /** Drops pairs with no failure in the last two windows. */
  #sweep(now: number): void {
    for (const [key, counter] of this.#pairs) if (estimate(counter, now) === 0) this.#pairs.delete(key);
  }

  /** Periodic clean-up (the server calls it once a minute). */
  sweep(): void {
    this.#sweep(this.#clock());
  }
}
