/** A fake monotonic clock with timers driven by it, and a wall clock that can be stepped on its own. */
import type { Timers } from "../../src/limits/monotonic-clock.ts";

type Timer = { at: number; every: number | null; fn: () => void; live: boolean };

export class FakeTime {
  #mono = 1_000;
  #wallOffset: number;
  readonly #timers: Timer[] = [];

  constructor(wallStart = Date.UTC(2026, 10, 15, 12)) {
    this.#wallOffset = wallStart - this.#mono;
  }

  /** The monotonic clock. */
  readonly monotonic = () => this.#mono;
  /** The wall clock: moves with the monotonic one, plus any steps. */
  readonly wall = () => this.#mono + this.#wallOffset;

  /** Steps the wall clock only (what NTP or `date -s` does); the monotonic clock and timers do not notice. */
  stepWall(ms: number): void {
    this.#wallOffset += ms;
  }

  /** Lets `ms` of real time pass: both clocks move and due timers fire in order. */
  advance(ms: number): void {
    const end = this.#mono + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#mono = Math.max(this.#mono, due.at);
      if (due.every === null) due.live = false;
      else due.at += due.every;
      due.fn();
    }
    this.#mono = end;
  }

  readonly timers: Timers = {
    after: (ms, fn) => this.#add(ms, null, fn),
    every: (ms, fn) => this.#add(ms, ms, fn),
  };

  #add(ms: number, every: number | null, fn: () => void): () => void {
    const timer: Timer = { at: this.#mono + ms, every, fn, live: true };
    this.#timers.push(timer);
    return () => {
      timer.live = false;
    };
  }
}
