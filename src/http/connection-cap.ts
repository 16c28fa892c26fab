/**
 * Open connections per client address. Bun.serve reports no connection events, so a connection is known
 * by its (address, port) from its first request on, and taken as closed once it has been idle longer than
 * the idle timeout (the server closes it by then). A connection that never sends a request is only
 * bounded by that idle timeout.
 */

/** Bun checks idle timeouts on a coarse timer: allow that much beyond the configured timeout. */
const timerSlackMs = 5_000;

type Connection = { inFlight: number; lastSeen: number };

export class ConnectionCap {
  readonly #byAddress = new Map<string, Map<number, Connection>>();
  readonly #max: number;
  readonly #idleMs: number;
  readonly #clock: () => number;

  constructor(options: { max: number; idleTimeoutMs: number; clock?: () => number }) {
    this.#max = options.max;
    this.#idleMs = options.idleTimeoutMs + timerSlackMs;
    this.#clock = options.clock ?? (() => performance.now());
    setInterval(() => this.sweep(), this.#idleMs).unref?.();
  }

  /** Registers a request on the connection (address, port); false when that would be one connection too many. */
  enter(address: string, port: number): boolean {
    const now = this.#clock();
    let connections = this.#byAddress.get(address);
    const known = connections?.get(port);
    if (known) {
      known.inFlight++;
      known.lastSeen = now;
      return true;
    }
    if (!connections) this.#byAddress.set(address, (connections = new Map()));
    if (connections.size >= this.#max) this.#dropIdle(connections, now);
    if (connections.size >= this.#max) return false;
    connections.set(port, { inFlight: 1, lastSeen: now });
    return true;
  }

  /** The request on (address, port) is answered; `closing` when its response closes the connection. */
  leave(address: string, port: number, closing: boolean): void {
    const connections = this.#byAddress.get(address);
    const connection = connections?.get(port);
    if (!connections || !connection) return;
    connection.inFlight--;
    connection.lastSeen = this.#clock();
    if (closing && connection.inFlight === 0) connections.delete(port);
    if (connections.size === 0) this.#byAddress.delete(address);
  }

  /** Connections counted for an address now. */
  count(address: string): number {
    return this.#byAddress.get(address)?.size ?? 0;
  }

  sweep(): void {
    const now = this.#clock();
    for (const [address, connections] of this.#byAddress) {
      this.#dropIdle(connections, now);
      if (connections.size === 0) this.#byAddress.delete(address);
    }
  }

  #dropIdle(connections: Map<number, Connection>, now: number): void {
    for (const [port, connection] of connections) if (connection.inFlight === 0 && now - connection.lastSeen > this.#idleMs) connections.delete(port);
  }
}
