/** Builds the limiter, the meter, the CPU budget and admission from the config, for `serve` and `stdio`. */
import { RefusalCounter } from "../audit/refusal-counter.ts";
import type { ReadinessDependency } from "../http/health.ts";
import type { Logger } from "../log.ts";
import { buildCatalogue } from "../mcp/server.ts";
import { UsageMeter } from "../metering/usage-meter.ts";
import type { Services } from "../services.ts";
import { Admission, type CatalogueTool } from "./admission.ts";
import { CpuBudget } from "./cpu-budget.ts";
import { monotonicNow, realTimers, type MonotonicClock, type Timers } from "./monotonic-clock.ts";
import { InProcessRateLimiter, type RateLimiter } from "./rate-limiter.ts";
import { RedisConnection } from "./redis-connection.ts";
import { RedisRateLimiter } from "./redis-limiter.ts";
import { RedisQuota } from "./redis-quota.ts";
import { events } from "../metering/usage-meter.ts";

export type Limits = {
  limiter: RateLimiter;
  meter: UsageMeter;
  /** Per-tenant CPU time: the worker pool calls `cpu.charge(tenantId, cpuMs)` after each store call. */
  cpu: CpuBudget;
  admission: Admission;
  /** The instance's Redis connection when limits.redis_url is set (shared state: windows, quotas, sign-in sessions). */
  redis: RedisConnection | null;
  /** Clears every trace a removed tenant left in memory (rate windows, CPU charges, pending usage). */
  forgetTenant(id: string): void;
  close(): Promise<void>;
};

/**
 * Redis as readiness sees it: required under failure_mode closed (it refuses every request while Redis is
 * down, so the instance is not ready); under open, a Redis outage only degrades (limits fall back per instance).
 */
export function redisDependency(redis: RedisConnection, failureMode: "open" | "closed"): ReadinessDependency {
  return {
    name: "redis",
    required: failureMode === "closed",
    check: () => redis.ping(),
    whenDown: "redis unreachable: rate limits, quotas and sign-in sessions are kept per instance until it returns (limits.failure_mode = open)",
  };
}

/** `monotonic` and `timers` drive every window, wait and interval here (the wall clock only names months). */
export function createLimits(services: Pick<Services, "config" | "clock" | "control" | "audit">, log: Logger, time: { monotonic?: MonotonicClock; timers?: Timers } = {}): Limits {
  const { config, clock } = services;
  const monotonic = time.monotonic ?? monotonicNow;
  const timers = time.timers ?? realTimers;
  const redis = config.limits.redis_url ? new RedisConnection({ url: config.limits.redis_url, timeoutMs: config.limits.redis_timeout_ms }) : null;
  const limiter: RateLimiter = redis ? new RedisRateLimiter({ redis, failureMode: config.limits.failure_mode, log }) : new InProcessRateLimiter(monotonic, config.limits.window_ms);
  // With Redis, monthly quotas are one counter for every instance (exact); without, this process counts.
  const quota = redis ? new RedisQuota(redis) : undefined;
  const meter = new UsageMeter({ control: services.control, clock, monotonic, timers });
  meter.start(config.metering.flush_interval_ms, (error) => log.warn("usage flush failed; will retry", { error: String(error) }));
  const refusals = new RefusalCounter(services.audit, clock);
  refusals.start(60_000, (error) => log.warn("audit of refusals failed", { error: String(error) }));
  const cpu = new CpuBudget({ windowMs: config.limits.window_ms, clock: monotonic });
  const tools = new Map<string, CatalogueTool>(buildCatalogue(config, clock).tools.map((tool) => [tool.name, tool]));
  const admission = new Admission({
    config,
    limiter,
    meter,
    clock,
    tools,
    cpu,
    timers,
    onRefused: (tenantId, kind) => refusals.count(tenantId, kind),
    quota,
    failureMode: config.limits.failure_mode,
    onQuotaUnavailable: (error) => log.warn("redis quota counter unavailable", { error: error instanceof Error ? error.message : String(error), failure_mode: config.limits.failure_mode }),
  });
  return {
    limiter,
    meter,
    cpu,
    admission,
    redis,
    forgetTenant(id) {
      void quota?.forget(id, events.toolCalls, meter.currentMonth()).catch(() => undefined);
      meter.forget(id);
      cpu.forget(id);
      if (limiter instanceof InProcessRateLimiter) for (const key of [`t:${id}`, `d:${id}`]) limiter.forget(key);
    },
    async close() {
      await meter.stop();
      await refusals.stop();
      await limiter.close();
      redis?.close();
    },
  };
}
