/**
 * Monthly quotas shared by every instance through Redis: one counter per tenant, month and event, taken with
 * a conditional increment (a server-side script: increment only while below the quota), so N instances admit
 * exactly the quota between them. A missing counter (first call of the month, a Redis restart or flush) is
 * seeded from the control plane's durable count in the same script, so losing Redis never resets a month.
 */
import type { RedisConnection, RedisScript } from "./redis-connection.ts";

// KEYS[1] counter; ARGV limit, seed ("" when unknown), expiry (unix seconds). Returns {state, used}:
// state 1 taken (used counts this call), 0 refused (quota reached), -1 counter missing and no seed given.
const takeScript: RedisScript = {
  source: `
local v = redis.call('GET', KEYS[1])
if not v then
  if ARGV[2] == '' then return {-1, 0} end
  v = ARGV[2]
  redis.call('SET', KEYS[1], v, 'EXAT', ARGV[3])
end
v = tonumber(v)
if v >= tonumber(ARGV[1]) then return {0, v} end
redis.call('INCR', KEYS[1])
return {1, v + 1}
`,
};

// Gives one unit back (a call taken here but refused later, by the rate window); never creates the counter.
const refundScript: RedisScript = {
  source: `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return -1
`,
};

export type QuotaTaken = { admitted: boolean; used: number };

/** A counter outlives its month by this much, so a late call near midnight still finds it. */
const keepAfterMonthMs = 7 * 86_400_000;

export class RedisQuota {
  readonly #redis: RedisConnection;
  readonly #prefix: string;

  constructor(redis: RedisConnection, prefix = "mcp-mt:quota:") {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #key(tenantId: string, month: string, event: string): string {
    return `${this.#prefix}${tenantId}:${month}:${event}`;
  }

  /**
   * Takes one unit of `event` for `month` if fewer than `limit` are used. `durable` gives the month-to-date
   * count the control plane holds; it is read only when Redis has no counter. Rejects when Redis cannot answer.
   */
  async take(tenantId: string, event: string, month: string, monthEnd: Date, limit: number, durable: () => Promise<number>): Promise<QuotaTaken> {
    const key = this.#key(tenantId, month, event);
    const expireAt = String(Math.ceil((monthEnd.getTime() + keepAfterMonthMs) / 1000));
    let reply = (await this.#redis.eval(takeScript, [key], [String(limit), "", expireAt])) as number[];
    if (Number(reply[0]) === -1) reply = (await this.#redis.eval(takeScript, [key], [String(limit), String(await durable()), expireAt])) as number[];
    return { admitted: Number(reply[0]) === 1, used: Number(reply[1]) };
  }

  /** Returns a unit taken for a call that was not served after all. */
  async refund(tenantId: string, event: string, month: string): Promise<void> {
    await this.#redis.eval(refundScript, [this.#key(tenantId, month, event)], []);
  }

  /** Forgets a removed tenant's counter for `month` (a new tenant with its id starts at zero). */
  async forget(tenantId: string, event: string, month: string): Promise<void> {
    await this.#redis.send("DEL", [this.#key(tenantId, month, event)]);
  }
}
