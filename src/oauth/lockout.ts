/** Per-account lockout after repeated wrong passwords: one account locks, the others are untouched. Monotonic clock. */
import { monotonicNow, type MonotonicClock } from "../limits/monotonic-clock.ts";

export class AccountLockout {
  readonly #failures = new Map<string, { count: number; lockedUntil: number }>();
  readonly #maxFailures: number;
  readonly #lockMs: number;
  readonly #now: MonotonicClock;

  constructor(maxFailures: number, lockMs: number, now: MonotonicClock = monotonicNow) {
    this.#now = now;
    this.#maxFailures = maxFailures;
    this.#lockMs = lockMs;
  }

  /** Milliseconds the account stays locked, or 0. */
  lockedFor(account: string): number {
    const entry = this.#failures.get(account);
    if (!entry) return 0;
    const left = entry.lockedUntil - this.#now();
    if (left > 0) return left;
    if (entry.lockedUntil > 0) this.#failures.delete(account);
    return 0;
  }

  failed(account: string): void {
    const entry = this.#failures.get(account) ?? { count: 0, lockedUntil: 0 };
    entry.count++;
    if (entry.count >= this.#maxFailures) entry.lockedUntil = this.#now() + this.#lockMs;
    this.#failures.set(account, entry);
    // Bounded memory under a spray of accounts: forget the oldest entry.
    if (this.#failures.size > 100_000) this.#failures.delete(this.#failures.keys().next().value!);
  }

  succeeded(account: string): void {
    this.#failures.delete(account);
  }
}
