/**
 * Short-lived sign-in state (browser sessions, pending authorization requests, authorization codes, password
 * lockouts, used TOTP steps) behind one small key-value interface with expiry: in this process by default, in
 * Redis when limits.redis_url is set, so a sign-in started on one instance completes on another and a lockout
 * counts every instance's wrong passwords.
 */
import { AppError } from "../errors.ts";
import { monotonicNow, type MonotonicClock } from "../limits/monotonic-clock.ts";
import type { RedisConnection, RedisScript } from "../limits/redis-connection.ts";

export interface EphemeralStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets only when the key is absent; true when this call set it (the first of several racing callers). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Adds one to a counter, creating it with `ttlMs` to live when absent; returns the new count. */
  increment(key: string, ttlMs: number): Promise<number>;
  /** Milliseconds the key has left to live; 0 when absent. */
  remainingMs(key: string): Promise<number>;
}

/** The in-process store: expiry on the monotonic clock, bounded size (the oldest key goes first). */
export class MemoryStore implements EphemeralStore {
  readonly #entries = new Map<string, { value: string; expiresAt: number }>();
  readonly #maxKeys: number;
  readonly #now: MonotonicClock;

  /** `now`: the monotonic clock expiries run on (injectable for tests). */
  constructor(now: MonotonicClock = monotonicNow, maxKeys = 200_000) {
    this.#now = now;
    this.#maxKeys = maxKeys;
  }

  #live(key: string) {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > this.#now()) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  async get(key: string): Promise<string | null> {
    return this.#live(key)?.value ?? null;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxKeys) this.#sweep();
    if (this.#entries.size >= this.#maxKeys) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, expiresAt: this.#now() + ttlMs });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.#live(key)) return false;
    await this.set(key, value, ttlMs);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    const entry = this.#live(key);
    if (!entry) {
      await this.set(key, "1", ttlMs);
      return 1;
    }
    entry.value = String(Number(entry.value) + 1);
    return Number(entry.value);
  }

  async remainingMs(key: string): Promise<number> {
    const entry = this.#live(key);
    return entry ? entry.expiresAt - this.#now() : 0;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }
}

const incrementScript: RedisScript = {
  source: `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`,
};

/** The Redis store: every instance sees the same keys (expiry by Redis's own clock). */
export class RedisStore implements EphemeralStore {
  readonly #redis: RedisConnection;
  readonly #prefix: string;

  constructor(redis: RedisConnection, prefix = "mcp-mt:signin:") {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  /** A Redis outage is the server's problem, said plainly: 503, never a 500 or a silent sign-out. */
  async #run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw new AppError("unavailable", "sign-in is unavailable: the shared session store (Redis) does not answer; retry shortly", { cause: error });
    }
  }

  get(key: string): Promise<string | null> {
    return this.#run(async () => ((await this.#redis.send("GET", [this.#prefix + key])) as string | null) ?? null);
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.#run(async () => void (await this.#redis.send("SET", [this.#prefix + key, value, "PX", String(Math.max(1, Math.ceil(ttlMs)))])));
  }

  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#run(async () => (await this.#redis.send("SET", [this.#prefix + key, value, "NX", "PX", String(Math.max(1, Math.ceil(ttlMs)))])) !== null);
  }

  delete(key: string): Promise<void> {
    return this.#run(async () => void (await this.#redis.send("DEL", [this.#prefix + key])));
  }

  increment(key: string, ttlMs: number): Promise<number> {
    return this.#run(async () => Number(await this.#redis.eval(incrementScript, [this.#prefix + key], [String(Math.max(1, Math.ceil(ttlMs)))])));
  }

  remainingMs(key: string): Promise<number> {
    return this.#run(async () => Math.max(0, Number(await this.#redis.send("PTTL", [this.#prefix + key]))));
  }
}
