/** The TOTP time steps members used, in the EphemeralStore: a code is accepted once, on whichever instance. */
import type { EphemeralStore } from "./ephemeral-store.ts";

/** Longer than any code stays valid (its step plus the accepted drift). */
const keepMs = 10 * 60_000;

export class UsedTotpSteps {
  readonly #store: EphemeralStore;

  constructor(store: EphemeralStore) {
    this.#store = store;
  }

  /** Accepts `step` for the member once, and never a step older than the last accepted one. */
  async claim(memberId: string, step: number): Promise<boolean> {
    const last = Number((await this.#store.get(`totp-last:${memberId}`)) ?? -1);
    if (step <= last) return false;
    // Two instances given the same code at once: only one claims it.
    if (!(await this.#store.setIfAbsent(`totp:${memberId}:${step}`, "", keepMs))) return false;
    await this.#store.set(`totp-last:${memberId}`, String(step), keepMs);
    return true;
  }
}
