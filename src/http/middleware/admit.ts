/** Rate limits, quotas and the concurrency cap on the HTTP path: 429 with Retry-After and RateLimit headers. */
import type { MiddlewareHandler } from "hono";
import type { Admission } from "../../limits/admission.ts";
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
