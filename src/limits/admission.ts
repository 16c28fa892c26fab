/**
 * Admission: what happens after the tenant is known and before the MCP handler. In order: the monthly
 * tool-call quota, the tenant's sliding-window rate limit (weighted by method and tool), and its
 * concurrency cap. Shared by HTTP and stdio so both answer the same way.
 */
import type { Config, Plan } from "../config/schema.ts";
import { events, monthOf, nextMonthStart, type UsageMeter } from "../metering/usage-meter.ts";
import type { TenantRow } from "../store/control/schema.ts";
import { ConcurrencyGate } from "./concurrency.ts";
import { effectivePlan } from "./plan.ts";
import { InProcessRateLimiter, type Decision, type RateLimiter } from "./rate-limiter.ts";

export type Admitted = { ok: true; plan: Plan; headers: Record<string, string>; release(): void };
export type Denied = { ok: false; status: number; code: number; message: string; data: Record<string, unknown>; headers: Record<string, string> };

export type AdmissionRequest = { tenant: TenantRow; method: string | null; tool: string | null };

const policyName = "tenant";

export class Admission {
  readonly #config: Config;
  readonly #limiter: RateLimiter;
  readonly #meter: UsageMeter;
  readonly #clock: () => number;
  readonly #gate: ConcurrencyGate;

  readonly #onRefused: (tenantId: string, kind: "rate_limited" | "quota_exceeded" | "concurrency_limited") => void;

  constructor(options: { config: Config; limiter: RateLimiter; meter: UsageMeter; clock: () => number; onRefused?: (tenantId: string, kind: "rate_limited" | "quota_exceeded" | "concurrency_limited") => void }) {
    this.#onRefused = options.onRefused ?? (() => undefined);
    this.#config = options.config;
    this.#limiter = options.limiter;
    this.#meter = options.meter;
    this.#clock = options.clock;
    this.#gate = new ConcurrencyGate(options.config.limits.concurrency_wait_ms);
  }

  /** Units a request costs. */
  weightOf(method: string | null, tool: string | null): number {
    const { limits } = this.#config;
    if (method === "tools/call" && tool !== null && Object.hasOwn(limits.tool_weights, tool)) return limits.tool_weights[tool]!;
    if (method !== null && Object.hasOwn(limits.method_weights, method)) return limits.method_weights[method]!;
    return limits.default_weight;
  }

  inFlight(tenantId: string): number {
    return this.#gate.inFlight(tenantId);
  }

  /** Effective plans, per tenant row object (the authenticator reuses a row for up to a second). */
  readonly #plans = new WeakMap<TenantRow, Plan>();

  /**
   * Decides on one request. The common case (slot free, counts in memory, in-process limiter) runs without
   * awaiting anything: this is on every request's path.
   */
  async admit({ tenant, method, tool }: AdmissionRequest): Promise<Admitted | Denied> {
    let plan = this.#plans.get(tenant);
    if (!plan) this.#plans.set(tenant, (plan = effectivePlan(this.#config, tenant)));
    // The slot comes first, so a request refused for concurrency never spends rate-limit units.
    const release = this.#gate.tryAcquire(tenant.id, plan.max_concurrency) ?? (await this.#gate.acquire(tenant.id, plan.max_concurrency));
    if (!release) {
      this.#onRefused(tenant.id, "concurrency_limited");
      return this.#deny(429, `Too many concurrent requests: tenant ${tenant.id} may have ${plan.max_concurrency} in flight; retry after 1 s`, { limit: plan.max_concurrency, concurrency: true, retryAfterSeconds: 1 }, { "retry-after": "1" });
    }
    const refused = (denied: Denied) => {
      release();
      return denied;
    };
    const { limits } = this.#config;

    if (method === "tools/call") {
      const month = this.#meter.currentMonth();
      const used = this.#meter.knownMonthToDate(tenant.id, events.toolCalls, month) ?? (await this.#meter.monthToDate(tenant.id, events.toolCalls, month));
      if (used >= plan.monthly_tool_calls) {
        this.#meter.add(tenant.id, events.quotaExceeded);
        this.#onRefused(tenant.id, "quota_exceeded");
        const resets = nextMonthStart(month);
        const retryAfter = Math.max(1, Math.ceil((resets.getTime() - this.#clock()) / 1000));
        return refused(
          this.#deny(
            429,
            `Monthly tool-call quota reached: ${used} of ${plan.monthly_tool_calls} calls used in ${month}; it resets at ${resets.toISOString()}`,
            { quota: "monthly_tool_calls", limit: plan.monthly_tool_calls, used, resets_at: resets.toISOString(), retryAfterSeconds: retryAfter },
            { "retry-after": String(retryAfter) },
          ),
        );
      }
    }

    const weight = this.weightOf(method, tool);
    const key = `t:${tenant.id}`;
    const decision =
      this.#limiter instanceof InProcessRateLimiter
        ? this.#limiter.consumeNow(key, plan.rate_limit_per_minute, limits.window_ms, weight)
        : await this.#limiter.consume(key, plan.rate_limit_per_minute, limits.window_ms, weight);
    const headers = rateLimitHeaders(decision, limits.window_ms);
    if (!decision.admitted) {
      if (decision.unavailable) return refused({ ...this.#deny(503, "Rate limiter unavailable; retry shortly", { retryAfterSeconds: 1 }, { "retry-after": "1" }) });
      this.#meter.add(tenant.id, events.rateLimited);
      this.#onRefused(tenant.id, "rate_limited");
      const never = !Number.isFinite(decision.retryAfterMs);
      const retryAfter = never ? null : Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      const message = never
        ? `This request costs ${weight} units, more than the tenant's whole limit of ${decision.limit} per ${limits.window_ms / 1000} s`
        : `Rate limit exceeded: ${decision.limit} units per ${limits.window_ms / 1000} s for tenant ${tenant.id}; retry after ${retryAfter} s`;
      return refused(
        this.#deny(429, message, { limit: decision.limit, windowSeconds: limits.window_ms / 1000, retryAfterSeconds: retryAfter }, retryAfter === null ? headers : { ...headers, "retry-after": String(retryAfter) }),
      );
    }
    if (method === "tools/call") {
      this.#meter.add(tenant.id, events.toolCalls);
      if (tool) this.#meter.add(tenant.id, events.tool(tool));
    }
    return { ok: true, plan, headers, release };
  }

  #deny(status: number, message: string, data: Record<string, unknown>, headers: Record<string, string>): Denied {
    return { ok: false, status, code: this.#config.limits.error_code, message, data, headers };
  }
}

/** IETF RateLimit-Policy / RateLimit fields (draft-ietf-httpapi-ratelimit-headers). */
export function rateLimitHeaders(decision: Decision, windowMs: number): Record<string, string> {
  return {
    "ratelimit-policy": `"${policyName}";q=${decision.limit};w=${Math.round(windowMs / 1000)}`,
    ratelimit: `"${policyName}";r=${decision.remaining};t=${Math.ceil(decision.resetMs / 1000)}`,
  };
}
