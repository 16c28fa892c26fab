/**
 * An exact sliding-window limiter for one key: in ANY window (t - window, t] at most `limit` units are admitted
 * (no double burst at window edges, unlike fixed windows). It keeps the times of the last `limit` admitted
 * units in a ring buffer: memory is bounded by the limit, the decision reads one slot (O(1)), and the `remaining` figure for headers
 * is a binary search (O(log limit)).
 */
export type Decision = {
  admitted: boolean;
  limit: number;
  /** Units still admissible in the current window after this decision. */
  remaining: number;
  /** When denied: milliseconds until the same request would be admitted (exact). */
  retryAfterMs: number;
  /** Milliseconds until the window has fully refilled. */
  resetMs: number;
  /** Set when a shared limiter could not decide and refused (failure mode "closed"). */
  unavailable?: boolean;
};

export class SlidingWindow {
  readonly limit: number;
  readonly windowMs: number;
  /** Grows by doubling up to `limit`, so a huge limit costs memory only when it is used. */
  #times: Float64Array;
  /** Index of the oldest entry. */
  #head = 0;
  #size = 0;

  constructor(limit: number, windowMs: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError("limit must be a positive integer");
    this.limit = limit;
    this.windowMs = windowMs;
    this.#times = new Float64Array(Math.min(limit, 64));
  }

  /** The time of the i-th oldest admitted unit still remembered. */
  #at(i: number): number {
    return this.#times[(this.#head + i) % this.#times.length]!;
  }

  /** Time of the newest admission, or -Infinity. */
  get newest(): number {
    return this.#size === 0 ? Number.NEGATIVE_INFINITY : this.#at(this.#size - 1);
  }

  /** Units admitted in the window ending at `now` (binary search: entries are in time order). */
  used(now: number): number {
    let low = 0;
    let high = this.#size;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#at(mid) > now - this.windowMs) high = mid;
      else low = mid + 1;
    }
    return this.#size - low;
  }

  /** Decides on `weight` units at time `now` (which must not go backwards) and records them when admitted. */
  consume(now: number, weight = 1): Decision {
    // Callers pass a monotonic clock; should a time still go backwards, the buffer must stay in time order.
    now = Math.max(now, this.newest);
    if (weight > this.limit) return { admitted: false, limit: this.limit, remaining: 0, retryAfterMs: Number.POSITIVE_INFINITY, resetMs: this.windowMs };
    // Admitting needs the oldest (size + weight - limit) remembered units to be out of the window.
    const mustExpire = this.#size + weight - this.limit;
    if (mustExpire > 0) {
      const blocking = this.#at(mustExpire - 1);
      if (blocking > now - this.windowMs) {
        return { admitted: false, limit: this.limit, remaining: this.limit - this.used(now), retryAfterMs: blocking + this.windowMs - now, resetMs: this.newest + this.windowMs - now };
      }
    }
    for (let i = 0; i < weight; i++) {
      if (this.#size === this.#times.length && this.#size < this.limit) this.#grow();
      if (this.#size === this.limit) {
        this.#times[this.#head] = now;
        this.#head = (this.#head + 1) % this.#times.length;
      } else {
        this.#times[(this.#head + this.#size) % this.#times.length] = now;
        this.#size++;
      }
    }
    return { admitted: true, limit: this.limit, remaining: this.limit - this.used(now), retryAfterMs: 0, resetMs: this.#size ? Math.max(0, this.newest + this.windowMs - now) : 0 };
  }

  #grow(): void {
    const next = new Float64Array(Math.min(this.limit, this.#times.length * 2));
    for (let i = 0; i < this.#size; i++) next[i] = this.#at(i);
    this.#times = next;
    this.#head = 0;
  }

  /** Copies the units still inside the window at `now` into another window (newest kept if it is smaller). */
  replayInto(target: SlidingWindow, now: number): void {
    const inside = this.used(now);
    const start = this.#size - Math.min(inside, target.limit);
    for (let i = start; i < this.#size; i++) target.consume(this.#at(i), 1);
  }
}
