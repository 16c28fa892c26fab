/** Rate limits, quotas and the concurrency cap on the HTTP path: 429 with Retry-After and RateLimit headers. */
import type { MiddlewareHandler } from "hono";
import type { Config } from "../../config/schema.ts";
import type { Admission } from "../../limits/admission.ts";
import { effectivePlan } from "../../limits/plan.ts";
import type { AppEnv } from "../env.ts";
import { rpcErrorResponse } from "../jsonrpc.ts";

export function admit(admission: Admission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const rpc = c.get("rpc");
    const result = await admission.admit({ tenant: c.get("auth").tenant, method: rpc.method, tool: rpc.tool });
    if (!result.ok) return rpcErrorResponse(result.status, result.code, result.message, { id: rpc.id, headers: result.headers, data: result.data });
    c.set("plan", result.plan);
    try {
      await next();
    } finally {
      result.release();
    }
    for (const [name, value] of Object.entries(result.headers)) c.res.headers.set(name, value);
  };
}

/** With limits.enabled = false: no limits and no metering; the request still runs under the plan's timeout. */
export function unlimited(config: Config): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("plan", effectivePlan(config, c.get("auth").tenant));
    await next();
  };
}
