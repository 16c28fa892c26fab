/** Per-tenant cap on requests in flight; excess requests wait up to `waitMs` for a slot, then are refused. */
export class ConcurrencyGate {
  readonly #waitMs: number;
  readonly #inFlight = new Map<string, number>();
  readonly #waiters = new Map<string, (() => void)[]>();

  constructor(waitMs: number) {
    this.#waitMs = waitMs;
  }

  inFlight(key: string): number {
    return this.#inFlight.get(key) ?? 0;
  }

  /** A release function, or null when no slot freed up in time. */
  async acquire(key: string, max: number): Promise<(() => void) | null> {
    if (this.inFlight(key) >= max) {
      if (this.#waitMs === 0 || !(await this.#wait(key))) return null;
      if (this.inFlight(key) >= max) return null;
    }
    this.#inFlight.set(key, this.inFlight(key) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.inFlight(key) - 1;
      if (left === 0) this.#inFlight.delete(key);
      else this.#inFlight.set(key, left);
      this.#waiters.get(key)?.shift()?.();
    };
  }

  #wait(key: string): Promise<boolean> {
    return new Promise((resolve) => {
      const queue = this.#waiters.get(key) ?? [];
      this.#waiters.set(key, queue);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const i = queue.indexOf(wake);
        if (i >= 0) queue.splice(i, 1);
        if (queue.length === 0) this.#waiters.delete(key);
        resolve(false);
      }, this.#waitMs);
      queue.push(wake);
    });
  }
}
