/**
 * Time sources for limits and intervals. Windows, waits and budgets read a monotonic clock: the wall clock
 * steps (NTP, an operator's `date -s`), and a window on it bursts when it jumps forward and locks a tenant
 * out when it jumps back. Only calendar things (quota months, timestamps people read) use the wall clock.
 */

/** Milliseconds from an arbitrary origin; never goes backwards, unaffected by wall-clock steps. */
export type MonotonicClock = () => number;

export const monotonicNow: MonotonicClock = () => performance.now();

/**
 * Timers on the monotonic clock (Bun's timers are: a wall-clock step neither fires nor delays them).
 * Injectable, so rules built on waits and intervals are tested with a fake clock and no sleeps.
 */
export type Timers = {
  /** Runs `fn` once after `ms`; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
  /** Runs `fn` every `ms` (not keeping the process alive); returns a stop function. */
  every(ms: number, fn: () => void): () => void;
};

export const realTimers: Timers = {
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    timer.unref?.();
    return () => clearInterval(timer);
  },
};
