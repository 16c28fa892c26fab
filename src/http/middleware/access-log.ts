/**
 * One structured line per request: time, request id, tenant, protocol era, method, tool, status, duration.
 * Never a credential; client-supplied names are cut by the logger. Requests without a tenant (refused
 * strangers, probes, scrapes) and clients that went away mid-request are logged at debug level: a stranger
 * must not be able to fill the operator's log, and counters (/metrics) already show them.
 */
import { monotonicNow } from "../../limits/monotonic-clock.ts";
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../../log.ts";
import type { LiveStats } from "../../metering/live-stats.ts";
import type { AppEnv } from "../env.ts";
import { clientClosedStatus } from "./read-body.ts";

export const accessLog = (log: Logger, stats: LiveStats): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const started = monotonicNow();
    await next();
    const rpc = c.get("rpc");
    const durationMs = monotonicNow() - started;
    const tenant = c.get("auth")?.tenant.id ?? null;
    // Whatever the handler answered, nobody receives it once the client has gone: that is a client abort.
    const aborted = c.get("clientAborted") === true || c.req.raw.signal.aborted;
    const status = aborted ? clientClosedStatus : c.res.status;
    // Health probes and metrics scrapes are not traffic.
    if (c.req.path === "/mcp") stats.record(tenant, rpc?.method ?? null, rpc?.tool ?? null, status, durationMs);
    (aborted || tenant === null ? log.debug : log.info)(aborted ? "request aborted by the client" : "request", {
      request_id: c.get("requestId"),
      http: `${c.req.method} ${c.req.path}`,
      tenant,
      era: rpc?.era ?? null,
      method: rpc?.method ?? null,
      tool: rpc?.tool ?? null,
      status,
      duration_ms: Math.round(durationMs * 100) / 100,
    });
  };
