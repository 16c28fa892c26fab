/** Builds the limiter, the meter and admission from the config, for `serve` and `stdio`. */
import type { Logger } from "../log.ts";
import { UsageMeter } from "../metering/usage-meter.ts";
import type { Runtime } from "../runtime.ts";
import { RefusalCounter } from "../audit/refusal-counter.ts";
import { Admission } from "./admission.ts";
import { InProcessRateLimiter, type RateLimiter } from "./rate-limiter.ts";
import { RedisRateLimiter } from "./redis-limiter.ts";

export type Limits = { limiter: RateLimiter; authFailures: InProcessRateLimiter; meter: UsageMeter; admission: Admission; close(): Promise<void> };

export function createLimits(runtime: Runtime, log: Logger): Limits {
  const { config, clock } = runtime;
  const limiter: RateLimiter = config.limits.redis_url
    ? new RedisRateLimiter({ url: config.limits.redis_url, timeoutMs: config.limits.redis_timeout_ms, failureMode: config.limits.failure_mode, log })
    : new InProcessRateLimiter(clock, config.limits.window_ms);
  const authFailures = new InProcessRateLimiter(clock);
  const meter = new UsageMeter({ control: runtime.control, clock });
  meter.start(config.metering.flush_interval_ms, (error) => log.warn("usage flush failed; will retry", { error: String(error) }));
  const refusals = new RefusalCounter(runtime.audit, clock);
  refusals.start(60_000, (error) => log.warn("audit of refusals failed", { error: String(error) }));
  const admission = new Admission({ config, limiter, meter, clock, onRefused: (tenantId, kind) => refusals.count(tenantId, kind) });
  return {
    limiter,
    authFailures,
    meter,
    admission,
    async close() {
      await meter.stop();
      await refusals.stop();
      await limiter.close();
      await authFailures.close();
    },
  };
}
