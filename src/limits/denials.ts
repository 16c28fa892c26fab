/** The refusals admission gives, each naming the limit it hit, with Retry-After and the IETF RateLimit fields. */
import type { Decision } from "./sliding-window.ts";

export type Denied = { ok: false; status: number; code: number; message: string; data: Record<string, unknown>; headers: Record<string, string> };

/** The two sliding windows every request spends from: calls (weighted work) and discovery (everything free of weight). */
export type Budget = "rate_limit_per_minute" | "discovery_per_minute";

/** Policy names in the RateLimit fields, per budget. */
export const policyNames: Record<Budget, string> = { rate_limit_per_minute: "tenant", discovery_per_minute: "discovery" };

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** IETF RateLimit-Policy / RateLimit fields (draft-ietf-httpapi-ratelimit-headers). */
export function rateLimitHeaders(decision: Decision, windowMs: number, policy = policyNames.rate_limit_per_minute): Record<string, string> {
  return {
    "ratelimit-policy": `"${policy}";q=${decision.limit};w=${Math.round(windowMs / 1000)}`,
    ratelimit: `"${policy}";r=${decision.remaining};t=${Math.ceil(decision.resetMs / 1000)}`,
  };
}

/** Builds refusals carrying one JSON-RPC error code (limits.error_code). */
export class Denials {
  readonly #code: number;

  constructor(code: number) {
    this.#code = code;
  }

  deny(status: number, message: string, data: Record<string, unknown>, headers: Record<string, string>): Denied {
    return { ok: false, status, code: this.#code, message, data, headers };
  }

  concurrency(tenantId: string, limit: number): Denied {
    return this.deny(429, `Too many concurrent requests: tenant ${tenantId} may have ${limit} in flight; retry after 1 s`, { limit, concurrency: true, retryAfterSeconds: 1 }, { "retry-after": "1" });
  }

  streams(tenantId: string, limit: number): Denied {
    const retryAfter = 5;
    return this.deny(
      429,
      `Too many open streams: tenant ${tenantId} may keep ${limit} subscriptions/listen streams open (the plan's max_streams); close one, or retry after ${retryAfter} s`,
      { budget: "max_streams", limit, retryAfterSeconds: retryAfter },
      { "retry-after": String(retryAfter) },
    );
  }

  cpu(tenantId: string, limit: number, usedMs: number, windowMs: number, retryAfterMs: number): Denied {
    const retryAfter = seconds(retryAfterMs);
    return this.deny(
      429,
      `CPU budget exceeded: tenant ${tenantId} used ${Math.round(usedMs)} ms of CPU in the last ${windowMs / 1000} s, its plan's cpu_ms_per_minute is ${limit}; retry after ${retryAfter} s`,
      { budget: "cpu_ms_per_minute", limit, usedMs: Math.round(usedMs), windowSeconds: windowMs / 1000, retryAfterSeconds: retryAfter },
      { "retry-after": String(retryAfter) },
    );
  }

  quota(month: string, used: number, limit: number, resets: Date, retryAfterMs: number): Denied {
    const retryAfter = seconds(retryAfterMs);
    return this.deny(
      429,
      `Monthly tool-call quota reached: ${used} of ${limit} calls used in ${month}; it resets at ${resets.toISOString()}`,
      { quota: "monthly_tool_calls", limit, used, resets_at: resets.toISOString(), retryAfterSeconds: retryAfter },
      { "retry-after": String(retryAfter) },
    );
  }

  /** The shared limits (Redis) could not decide and limits.failure_mode is closed: not the tenant's refusal. */
  unavailable(): Denied {
    return this.deny(503, "Rate limiter unavailable; retry shortly", { retryAfterSeconds: 1 }, { "retry-after": "1" });
  }

  /** A sliding window had no room: the call budget or the discovery budget. */
  window(tenantId: string, budget: Budget, decision: Decision, weight: number, windowMs: number, headers: Record<string, string>): Denied {
    if (decision.unavailable) return this.unavailable();
    const windowSeconds = windowMs / 1000;
    if (!Number.isFinite(decision.retryAfterMs)) {
      return this.deny(429, `This request costs ${weight} units, more than the tenant's whole limit of ${decision.limit} per ${windowSeconds} s`, { budget, limit: decision.limit, windowSeconds, retryAfterSeconds: null }, headers);
    }
    const retryAfter = seconds(decision.retryAfterMs);
    const message =
      budget === "discovery_per_minute"
        ? `Discovery rate limit exceeded: ${decision.limit} discovery and list calls (tools/list, resources/list, ping, …) per ${windowSeconds} s for tenant ${tenantId}; retry after ${retryAfter} s`
        : `Rate limit exceeded: ${decision.limit} units per ${windowSeconds} s for tenant ${tenantId}; retry after ${retryAfter} s`;
    return this.deny(429, message, { budget, limit: decision.limit, windowSeconds, retryAfterSeconds: retryAfter }, { ...headers, "retry-after": String(retryAfter) });
  }
}
