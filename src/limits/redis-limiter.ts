/**
 * Shared sliding windows in Redis, for several instances behind one load balancer. One atomic server-side
 * script per decision (a sorted set of admission times per key, Redis's own clock, so instances' clocks do not
 * matter). Every call is time-boxed; when Redis is slow or down the configured failure mode decides, and a
 * short breaker keeps a dead Redis from costing each request the full timeout.
 */
import type { Logger } from "../log.ts";
import type { Decision, RateLimiter } from "./rate-limiter.ts";
import { RedisUnavailableError, type RedisConnection, type RedisScript } from "./redis-connection.ts";

// KEYS[1] key; ARGV window ms, limit, weight, nonce. Returns {admitted, remaining, retry_ms, reset_ms}.
const script = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local weight = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
if weight > limit then return {0, limit - used, -1, window} end
if used + weight <= limit then
  for i = 1, weight do redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. i) end
  if weight > 0 then redis.call('PEXPIRE', KEYS[1], window) end
  local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  local reset = 0
  if newest[2] then reset = tonumber(newest[2]) + window - now end
  return {1, limit - used - weight, 0, reset}
end
local blocking = redis.call('ZRANGE', KEYS[1], used + weight - limit - 1, used + weight - limit - 1, 'WITHSCORES')
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
return {0, limit - used, tonumber(blocking[2]) + window - now, tonumber(newest[2]) + window - now}
`;

export type RedisLimiterOptions = { redis: RedisConnection; failureMode: "open" | "closed"; log: Logger; prefix?: string };

export { RedisUnavailableError };

const slidingWindow: RedisScript = { source: script };

export class RedisRateLimiter implements RateLimiter {
  readonly #o: RedisLimiterOptions;
  #nonce = 0;

  constructor(options: RedisLimiterOptions) {
    this.#o = options;
  }

  async consume(key: string, limit: number, windowMs: number, weight: number): Promise<Decision> {
    try {
      return await this.#run(key, limit, windowMs, weight);
    } catch (error) {
      this.#o.log.warn("redis rate limiter unavailable", { error: error instanceof Error ? error.message : String(error), failure_mode: this.#o.failureMode });
      return this.#fallback(limit, windowMs);
    }
  }

  async #run(key: string, limit: number, windowMs: number, weight: number): Promise<Decision> {
    const reply = (await this.#o.redis.eval(slidingWindow, [`${this.#o.prefix ?? "mcp-mt:rl:"}${key}`], [String(windowMs), String(limit), String(weight), `${process.pid}-${Date.now()}-${this.#nonce++}`])) as number[];
    const [admitted, remaining, retry, reset] = reply.map(Number) as [number, number, number, number];
    return { admitted: admitted === 1, limit, remaining: Math.max(0, remaining), retryAfterMs: retry < 0 ? Number.POSITIVE_INFINITY : retry, resetMs: reset };
  }

  /** What the failure mode says when Redis cannot answer: admit (open) or refuse for a second (closed). */
  #fallback(limit: number, windowMs: number): Decision {
    if (this.#o.failureMode === "open") return { admitted: true, limit, remaining: limit, retryAfterMs: 0, resetMs: 0 };
    return { admitted: false, limit, remaining: 0, retryAfterMs: 1_000, resetMs: windowMs, unavailable: true };
  }

  /** The connection is the instance's, closed by whoever opened it. */
  async close(): Promise<void> {}
}
