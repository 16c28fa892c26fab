/** Per-tenant cap on requests in flight; excess requests wait up to `waitMs` for a slot, then are refused. */
import { realTimers, type Timers } from "./monotonic-clock.ts";

export class ConcurrencyGate {
  readonly #waitMs: number;
  readonly #timers: Timers;
  readonly #inFlight = new Map<string, number>();
  readonly #waiters = new Map<string, (() => void)[]>();

  /** `timers` run the wait on the monotonic clock (injectable for tests). */
  constructor(waitMs: number, timers: Timers = realTimers) {
    this.#waitMs = waitMs;
    this.#timers = timers;
  }

  inFlight(key: string): number {
    return this.#inFlight.get(key) ?? 0;
  }

  /** A release function, or null when no slot freed up in time. */
  async acquire(key: string, max: number): Promise<(() => void) | null> {
    const now = this.tryAcquire(key, max);
    if (now || this.#waitMs === 0) return now;
    if (!(await this.#wait(key))) return null;
    return this.tryAcquire(key, max);
  }

  /** A slot if one is free right now (no waiting, no promise), else null. */
  tryAcquire(key: string, max: number): (() => void) | null {
    if (this.inFlight(key) >= max) return null;
    this.#inFlight.set(key, this.inFlight(key) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.inFlight(key) - 1;
      if (left === 0) this.#inFlight.delete(key);
      else this.#inFlight.set(key, left);
      const queue = this.#waiters.get(key);
      const next = queue?.shift();
      if (queue?.length === 0) this.#waiters.delete(key);
      next?.();
    };
  }

  #wait(key: string): Promise<boolean> {
    return new Promise((resolve) => {
      const queue = this.#waiters.get(key) ?? [];
      this.#waiters.set(key, queue);
      const wake = () => {
        cancel();
        resolve(true);
      };
      const cancel = this.#timers.after(this.#waitMs, () => {
        const i = queue.indexOf(wake);
        if (i >= 0) queue.splice(i, 1);
        if (queue.length === 0) this.#waiters.delete(key);
        resolve(false);
      });
      queue.push(wake);
    });
  }
}
