/** Rate limiters keyed by tenant (or client address): in-process by default, Redis when instances share limits. */
import type { Decision } from "./sliding-window.ts";
import { SlidingWindow } from "./sliding-window.ts";
import { monotonicNow, type MonotonicClock } from "./monotonic-clock.ts";

export type { Decision };

export interface RateLimiter {
  /** Decides on `weight` units for `key` under `limit` units per `windowMs`. */
  consume(key: string, limit: number, windowMs: number, weight: number): Promise<Decision>;
  close(): Promise<void>;
}

/** Exact sliding windows in this process; idle keys are dropped so they cost nothing. */
export class InProcessRateLimiter implements RateLimiter {
  readonly #windows = new Map<string, SlidingWindow>();
  readonly #clock: MonotonicClock;
  readonly #sweeper: ReturnType<typeof setInterval>;

  /** `clock` must be monotonic: on a wall clock, a step forward empties every window and a step back freezes them. */
  constructor(clock: MonotonicClock = monotonicNow, sweepEveryMs = 60_000) {
    this.#clock = clock;
    this.#sweeper = setInterval(() => this.sweep(), sweepEveryMs);
    this.#sweeper.unref?.();
  }

  get size(): number {
    return this.#windows.size;
  }

  async consume(key: string, limit: number, windowMs: number, weight: number): Promise<Decision> {
    return this.consumeNow(key, limit, windowMs, weight);
  }

  /** The synchronous decision (used directly by benchmarks and tests). */
  /** Drops one key's window (a removed tenant's). */
  forget(key: string): void {
    this.#windows.delete(key);
  }

  consumeNow(key: string, limit: number, windowMs: number, weight: number): Decision {
    let window = this.#windows.get(key);
    if (!window || window.limit !== limit || window.windowMs !== windowMs) {
      // A plan change starts a fresh window; history within it is carried over up to the new limit.
      const next = new SlidingWindow(limit, windowMs);
      if (window) window.replayInto(next, this.#clock());
      window = next;
      this.#windows.set(key, window);
    }
    return window.consume(this.#clock(), weight);
  }

  /** Drops windows with nothing in them any more. */
  sweep(): void {
    const now = this.#clock();
    for (const [key, window] of this.#windows) if (window.newest <= now - window.windowMs) this.#windows.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }
}
