/** One structured line per request: time, request id, tenant, protocol era, method, tool, status, duration. Never a credential. */
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../../log.ts";
import type { AppEnv } from "../env.ts";

export const accessLog = (log: Logger): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const started = performance.now();
    await next();
    const rpc = c.get("rpc");
    log.info("request", {
      request_id: c.get("requestId"),
      http: `${c.req.method} ${c.req.path}`,
      tenant: c.get("auth")?.tenant.id ?? null,
      era: rpc?.era ?? null,
      method: rpc?.method ?? null,
      tool: rpc?.tool ?? null,
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
    });
  };
