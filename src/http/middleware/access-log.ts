/** One structured line per request: time, request id, tenant, protocol era, method, tool, status, duration. Never a credential. */
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../../log.ts";
import type { LiveStats } from "../../metering/live-stats.ts";
import type { AppEnv } from "../env.ts";

export const accessLog = (log: Logger, stats: LiveStats): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const started = performance.now();
    await next();
    const rpc = c.get("rpc");
    const durationMs = performance.now() - started;
    // Health probes and metrics scrapes are not traffic.
    if (c.req.path === "/mcp") stats.record(c.get("auth")?.tenant.id ?? null, rpc?.method ?? null, rpc?.tool ?? null, c.res.status, durationMs);
    log.info("request", {
      request_id: c.get("requestId"),
      http: `${c.req.method} ${c.req.path}`,
      tenant: c.get("auth")?.tenant.id ?? null,
      era: rpc?.era ?? null,
      method: rpc?.method ?? null,
      tool: rpc?.tool ?? null,
      status: c.res.status,
      duration_ms: Math.round(durationMs * 100) / 100,
    });
  };
