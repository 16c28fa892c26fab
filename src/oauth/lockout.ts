/**
 * Per-account lockout after repeated wrong passwords (or second-factor codes): one account locks, the others are
 * untouched. Counted in the EphemeralStore, so with Redis every instance's wrong attempts add up. Wrong attempts
 * are remembered for a day from the first one; reaching the limit locks the account for the lock time and
 * starts a fresh count.
 */
import type { EphemeralStore } from "./ephemeral-store.ts";

const failureWindowMs = 86_400_000;

export class AccountLockout {
  readonly #store: EphemeralStore;
  readonly #maxFailures: number;
  readonly #lockMs: number;

  constructor(store: EphemeralStore, maxFailures: number, lockMs: number) {
    this.#store = store;
    this.#maxFailures = maxFailures;
    this.#lockMs = lockMs;
  }

  /** Milliseconds the account stays locked, or 0. */
  lockedFor(account: string): Promise<number> {
    return this.#store.remainingMs(`locked:${account}`);
  }

  async failed(account: string): Promise<void> {
    const count = await this.#store.increment(`failures:${account}`, failureWindowMs);
    if (count < this.#maxFailures) return;
    await this.#store.set(`locked:${account}`, "1", this.#lockMs);
    await this.#store.delete(`failures:${account}`);
  }

  succeeded(account: string): Promise<void> {
    return this.#store.delete(`failures:${account}`);
  }
}
