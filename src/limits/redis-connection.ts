/**
 * One Redis connection per instance, shared by everything that keeps cross-instance state there (rate windows,
 * monthly quotas, sign-in sessions, lockouts). Every command is time-boxed; after a failure a short breaker
 * answers "unavailable" at once for a second, so a dead Redis does not cost each request the full timeout.
 */
import { RedisClient } from "bun";
import { monotonicNow } from "./monotonic-clock.ts";

export class RedisUnavailableError extends Error {}

/** A Lua script run server-side (atomic), loaded once and called by its digest. */
export type RedisScript = { source: string; sha?: string };

export type RedisConnectionOptions = { url: string; timeoutMs: number };

export class RedisConnection {
  readonly #client: RedisClient;
  readonly #timeoutMs: number;
  #downUntil = 0;
  #connecting: Promise<void> | undefined;
  /** The last failure, for readiness and logs; null while Redis answers. */
  lastError: string | null = null;

  constructor(options: RedisConnectionOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#client = new RedisClient(options.url, { connectionTimeout: Math.max(options.timeoutMs, 500), autoReconnect: true, maxRetries: 3, enableOfflineQueue: false });
  }

  /** Runs one command; rejects with RedisUnavailableError while the breaker is open or when Redis does not answer in time. */
  async send(command: string, args: string[]): Promise<unknown> {
    // The breaker runs on the monotonic clock: a wall-clock step must not hold it open.
    if (monotonicNow() < this.#downUntil) throw new RedisUnavailableError(`redis unavailable: ${this.lastError ?? "recent failure"}`);
    return this.#guarded(this.#send(command, args));
  }

  /** Runs a script by digest, loading it when Redis does not know it (first use, or Redis restarted). */
  async eval(script: RedisScript, keys: string[], args: string[]): Promise<unknown> {
    if (monotonicNow() < this.#downUntil) throw new RedisUnavailableError(`redis unavailable: ${this.lastError ?? "recent failure"}`);
    return this.#guarded(
      (async () => {
        script.sha ??= (await this.#send("SCRIPT", ["LOAD", script.source])) as string;
        const rest = [String(keys.length), ...keys, ...args];
        try {
          return await this.#send("EVALSHA", [script.sha, ...rest]);
        } catch (error) {
          if (!String(error).includes("NOSCRIPT")) throw error;
          script.sha = undefined;
          return this.#send("EVAL", [script.source, ...rest]);
        }
      })(),
    );
  }

  /** A round trip that ignores the breaker (readiness probes must see Redis come back). */
  async ping(): Promise<void> {
    await this.#guarded(this.#send("PING", []));
  }

  async #send(command: string, args: string[]): Promise<unknown> {
    if (!this.#client.connected) await (this.#connecting ??= this.#client.connect().finally(() => (this.#connecting = undefined)));
    return this.#client.send(command, args);
  }

  async #guarded<T>(work: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new RedisUnavailableError(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs)));
    try {
      const result = await Promise.race([work, timeout]);
      this.lastError = null;
      return result;
    } catch (error) {
      work.catch(() => undefined);
      this.#downUntil = monotonicNow() + 1_000;
      this.lastError = error instanceof Error ? error.message : String(error);
      throw error instanceof RedisUnavailableError ? error : new RedisUnavailableError(this.lastError);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.#client.close();
  }
}
