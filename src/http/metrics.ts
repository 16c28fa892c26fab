/** GET /metrics in the Prometheus text format: requests, latency, limits, open databases, flush lag, process. */
import { readdirSync } from "node:fs";
import { Hono } from "hono";
import type { Config } from "../config/schema.ts";
import { durationBuckets, type LiveStats } from "../metering/live-stats.ts";
import type { UsageMeter } from "../metering/usage-meter.ts";
import type { TenantBackend } from "../store/tenant-store.ts";
import type { Logger } from "../log.ts";
import { version } from "../version.ts";

const escape = (value: string) => value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
const labels = (pairs: Record<string, string>) => {
  const parts = Object.entries(pairs).filter(([, v]) => v !== "").map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
};

export type MetricsDeps = { config: Config; stats: LiveStats; registry: TenantBackend; meter: UsageMeter; audit: { failures: number }; token: string | undefined };

export function renderMetrics({ stats, registry, meter, audit }: Omit<MetricsDeps, "config" | "token">): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

  family("mcp_mt_info", "gauge", "Build information.");
  out.push(`mcp_mt_info${labels({ version })} 1`);

  family("mcp_mt_requests_total", "counter", "HTTP requests by tenant, JSON-RPC method, tool and status.");
  for (const [key, series] of stats.requests) {
    const [tenant, method, tool, status] = key.split("\u0000") as [string, string, string, string];
    out.push(`mcp_mt_requests_total${labels({ tenant, method, tool, status })} ${series.count}`);
  }

  family("mcp_mt_rate_limited_total", "counter", "Requests refused by a rate limit, quota or concurrency cap (HTTP 429).");
  const limited = new Map<string, number>();
  for (const [key, series] of stats.requests) {
    const [tenant, , , status] = key.split("\u0000") as [string, string, string, string];
    if (status === "429") limited.set(tenant, (limited.get(tenant) ?? 0) + series.count);
  }
  for (const [tenant, count] of limited) out.push(`mcp_mt_rate_limited_total${labels({ tenant })} ${count}`);

  family("mcp_mt_request_duration_seconds", "histogram", "Request duration by tenant and JSON-RPC method.");
  for (const [key, h] of stats.durations) {
    const [tenant, method] = key.split("\u0000") as [string, string];
    durationBuckets.forEach((le, i) => out.push(`mcp_mt_request_duration_seconds_bucket${labels({ tenant, method, le: String(le) })} ${h.buckets[i]}`));
    out.push(`mcp_mt_request_duration_seconds_bucket${labels({ tenant, method, le: "+Inf" })} ${h.count}`);
    out.push(`mcp_mt_request_duration_seconds_sum${labels({ tenant, method })} ${h.sum.toFixed(6)}`);
    out.push(`mcp_mt_request_duration_seconds_count${labels({ tenant, method })} ${h.count}`);
  }

  family("mcp_mt_open_tenant_databases", "gauge", "Tenant database files open now.");
  out.push(`mcp_mt_open_tenant_databases ${registry.openCount}`);
  // A count, not a label per tenant: bounded whatever the number of tenants; `mcp-mt tenant check` names them.
  family("mcp_mt_damaged_tenant_databases", "gauge", "Tenant databases found damaged (calls get 503 until restored; see mcp-mt tenant check).");
  out.push(`mcp_mt_damaged_tenant_databases ${registry.damaged.size}`);
  const workers = registry.figures();
  family("mcp_mt_store_workers", "gauge", "Store worker threads: serving, and detached (stalled by one tenant, retired once idle).");
  out.push(`mcp_mt_store_workers{state="serving"} ${workers.workers}`, `mcp_mt_store_workers{state="detached"} ${workers.detached}`);
  family("mcp_mt_store_calls_in_flight", "gauge", "Tenant store calls sent to workers and not yet answered.");
  out.push(`mcp_mt_store_calls_in_flight ${workers.inflight}`);
  family("mcp_mt_usage_flush_lag_seconds", "gauge", "Seconds since usage counts were last written to the control plane.");
  const lag = meter.flushLagMs();
  out.push(`mcp_mt_usage_flush_lag_seconds ${lag === null ? "NaN" : (lag / 1000).toFixed(3)}`);
  family("mcp_mt_audit_write_failures_total", "counter", "Audit entries that could not be written (each is also logged at error level).");
  out.push(`mcp_mt_audit_write_failures_total ${audit.failures}`);

  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out.push(`process_resident_memory_bytes ${memory.rss}`);
  family("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.");
  out.push(`process_cpu_seconds_total ${((cpu.user + cpu.system) / 1e6).toFixed(3)}`);
  family("process_start_time_seconds", "gauge", "Start time of the process since the epoch in seconds.");
  out.push(`process_start_time_seconds ${Math.floor(stats.startedAt / 1000)}`);
  try {
    const fds = readdirSync("/proc/self/fd").length;
    family("process_open_fds", "gauge", "Open file descriptors.");
    out.push(`process_open_fds ${fds}`);
  } catch {
    // not Linux: no /proc
  }
  return `${out.join("\n")}\n`;
}

/**
 * GET /metrics. On the public listener it answers only a scraper holding MCP_MT_METRICS_TOKEN: figures per
 * tenant are not for strangers. On its own listener (metrics.listen, loopback by default) the token is asked
 * for only when one is set.
 */
export function metricsRoutes(deps: MetricsDeps, where: "public" | "own"): Hono {
  const routes = new Hono();
  routes.get("/metrics", (c) => {
    if (where === "public" && !deps.token) {
      const elsewhere = deps.config.metrics.listen ? `they are served on http://${deps.config.metrics.listen}/metrics` : "metrics.listen is off";
      return c.text(`/metrics is not served on this port without a token: ${elsewhere}; set MCP_MT_METRICS_TOKEN to scrape them here\n`, 403);
    }
    if (deps.token && c.req.header("authorization") !== `Bearer ${deps.token}`) {
      return c.text("metrics need Authorization: Bearer <metrics token>\n", 401, { "www-authenticate": 'Bearer realm="metrics"' });
    }
    return c.text(renderMetrics(deps), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  return routes;
}

/** Splits metrics.listen ("127.0.0.1:9464", "[::1]:9464") into host and port. */
export function parseListen(listen: string): { hostname: string; port: number } {
  const colon = listen.lastIndexOf(":");
  const host = listen.slice(0, colon);
  return { hostname: host.startsWith("[") ? host.slice(1, -1) : host, port: Number(listen.slice(colon + 1)) };
}

/** The metrics listener (metrics.listen): /metrics only. A port in use is logged, not fatal: serving MCP matters more. */
export function startMetricsListener(deps: MetricsDeps, log: Logger): { url: string; stop(): Promise<void> } | undefined {
  const { listen } = deps.config.metrics;
  if (!deps.config.metrics.enabled || !listen) return undefined;
  const routes = metricsRoutes(deps, "own");
  try {
    const server = Bun.serve({ ...parseListen(listen), fetch: (request) => routes.fetch(request), idleTimeout: Math.ceil(deps.config.server.idle_timeout_ms / 1000), development: false });
    const url = `http://${listen.replace(/:\d+$/, `:${server.port}`)}/metrics`;
    log.info("metrics listening", { url });
    return { url, stop: () => server.stop(true) };
  } catch (error) {
    log.error("metrics listener could not start; /metrics is served only on the public port with MCP_MT_METRICS_TOKEN", { listen, error: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
}
