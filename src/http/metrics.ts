/** GET /metrics in the Prometheus text format: requests, latency, limits, open databases, flush lag, process. */
import { readdirSync } from "node:fs";
import { Hono } from "hono";
import type { Config } from "../config/schema.ts";
import { durationBuckets, type LiveStats } from "../metering/live-stats.ts";
import type { UsageMeter } from "../metering/usage-meter.ts";
import type { TenantRegistry } from "../tenancy/registry.ts";
import { version } from "../version.ts";

const escape = (value: string) => value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
const labels = (pairs: Record<string, string>) => {
  const parts = Object.entries(pairs).filter(([, v]) => v !== "").map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
};

export type MetricsDeps = { config: Config; stats: LiveStats; registry: TenantRegistry; meter: UsageMeter; token: string | undefined };

export function renderMetrics({ stats, registry, meter }: Omit<MetricsDeps, "config" | "token">): string {
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
  family("mcp_mt_usage_flush_lag_seconds", "gauge", "Seconds since usage counts were last written to the control plane.");
  out.push(`mcp_mt_usage_flush_lag_seconds ${meter.lastFlushAt ? ((Date.now() - meter.lastFlushAt) / 1000).toFixed(3) : "NaN"}`);

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

export function metricsRoutes(deps: MetricsDeps): Hono {
  const routes = new Hono();
  routes.get("/metrics", (c) => {
    if (deps.token && c.req.header("authorization") !== `Bearer ${deps.token}`) {
      return c.text("metrics need Authorization: Bearer <metrics token>\n", 401, { "www-authenticate": 'Bearer realm="metrics"' });
    }
    return c.text(renderMetrics(deps), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  return routes;
}
