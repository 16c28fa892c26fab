/** The TUI's screens: dashboard, tenants table, tenant detail, help. Each fits 80×24. */
import { Box, Text } from "ink";
import type { LiveTenant, Status, TenantDetail } from "./data.ts";

const pad = (text: string | number, width: number) => String(text).slice(0, width).padEnd(width);
const padLeft = (text: string | number, width: number) => String(text).slice(0, width).padStart(width);
const uptime = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : `${Math.floor(s / 60)}m${s % 60}s`);

export function Dashboard({ status, tenants }: { status: Status; tenants: LiveTenant[] }) {
  const top = [...tenants].sort((a, b) => b.live.requests_per_minute - a.live.requests_per_minute).slice(0, 8);
  const limited = tenants.reduce((n, t) => n + t.live.rate_limited_per_minute, 0);
  const errors = tenants.reduce((n, t) => n + t.live.errors_per_minute, 0);
  return (
    <Box flexDirection="column">
      <Text>
        Server <Text color={status.draining ? "yellow" : "green"}>{status.draining ? "draining" : "serving"}</Text>  v{status.version}  pid {status.pid}  up {uptime(status.uptime_s)}
      </Text>
      <Text>
        Total <Text bold>{status.requests_per_second.toFixed(1)} req/s</Text>  tenants {status.tenants}  open databases {status.open_databases}
      </Text>
      {status.damaged_tenants?.length ? (
        <Text color="red">{`Damaged tenant databases: ${status.damaged_tenants.join(", ")} (mcp-mt tenant check; restore … --tenant)`}</Text>
      ) : null}
      <Text>
        Rate-limited (1 min) <Text color={limited ? "yellow" : undefined}>{limited}</Text>  Errors (1 min) <Text color={errors ? "red" : undefined}>{errors}</Text>
      </Text>
      <Box marginTop={1} flexDirection="column">
        <Text bold>{`${pad("TOP TENANTS", 24)}${padLeft("REQ/MIN", 9)}${padLeft("LIMITED", 9)}${padLeft("ERRORS", 8)}${padLeft("P95 MS", 8)}${padLeft("INFLT", 7)}`}</Text>
        {top.length === 0 ? <Text dimColor>no tenants yet: press a to add one</Text> : null}
        {top.map((t) => (
          <Text key={t.id}>{`${pad(t.id, 24)}${padLeft(t.live.requests_per_minute, 9)}${padLeft(t.live.rate_limited_per_minute, 9)}${padLeft(t.live.errors_per_minute, 8)}${padLeft(t.live.latency_ms?.p95 ?? "-", 8)}${padLeft(t.live.in_flight, 7)}`}</Text>
        ))}
      </Box>
    </Box>
  );
}

export const sortKeys = ["id", "req/min", "usage", "quota"] as const;
export type SortKey = (typeof sortKeys)[number];

export function sortTenants(tenants: LiveTenant[], key: SortKey, filter: string): LiveTenant[] {
  const shown = tenants.filter((t) => !filter || t.id.includes(filter) || t.name.toLowerCase().includes(filter.toLowerCase()) || t.plan.includes(filter));
  const by: Record<SortKey, (a: LiveTenant, b: LiveTenant) => number> = {
    id: (a, b) => a.id.localeCompare(b.id),
    "req/min": (a, b) => b.live.requests_per_minute - a.live.requests_per_minute,
    usage: (a, b) => b.usage.tool_calls - a.usage.tool_calls,
    quota: (a, b) => b.usage.quota_used_pct - a.usage.quota_used_pct,
  };
  return [...shown].sort(by[key]);
}

export function TenantsTable({ tenants, selected, sort, filter }: { tenants: LiveTenant[]; selected: number; sort: SortKey; filter: string }) {
  const start = Math.max(0, Math.min(selected - 7, tenants.length - 15));
  return (
    <Box flexDirection="column">
      <Text dimColor>{`sort: ${sort} (s)  filter: ${filter || "-"} (/)  ${tenants.length} shown`}</Text>
      <Text bold>{`${pad("ID", 18)}${pad("PLAN", 11)}${pad("STATUS", 10)}${padLeft("REQ/MIN", 8)}${padLeft("CALLS/MO", 10)}${padLeft("QUOTA%", 8)}${padLeft("KEYS", 5)}`}</Text>
      {tenants.slice(start, start + 15).map((t, i) => (
        <Text key={t.id} inverse={start + i === selected} color={t.live.database_damaged ? "red" : t.status === "suspended" ? "yellow" : undefined}>
          {`${pad(t.id, 18)}${pad(t.plan, 11)}${pad(t.live.database_damaged ? "DAMAGED" : t.status, 10)}${padLeft(t.live.requests_per_minute, 8)}${padLeft(t.usage.tool_calls, 10)}${padLeft(t.usage.quota_used_pct.toFixed(1), 8)}${padLeft(t.keys, 5)}`}
        </Text>
      ))}
      {tenants.length === 0 ? <Text dimColor>no tenants match</Text> : null}
    </Box>
  );
}

export function Detail({ tenant, selectedKey }: { tenant: TenantDetail; selectedKey: number }) {
  const tools = Object.entries(tenant.usage?.tools ?? {}).sort((a, b) => b[1] - a[1]).slice(0, 4);
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{tenant.id}</Text> ({tenant.name})  plan {tenant.plan}  <Text color={tenant.status === "suspended" ? "yellow" : "green"}>{tenant.status}</Text>  {tenant.database.documents ?? "?"} docs{tenant.encrypted ? "  encrypted" : ""}
      </Text>
      {tenant.database.health?.state === "damaged" ? (
        <Text color="red">{`DATABASE DAMAGED: ${tenant.database.health.problem.slice(0, 60)}; restore it: mcp-mt restore <backup> --tenant ${tenant.id}`}</Text>
      ) : null}
      <Text>{`limits: ${tenant.limits.rate_limit_per_minute}/min  ${tenant.limits.monthly_tool_calls} calls/mo  ${tenant.limits.max_documents} docs  ${tenant.limits.max_concurrency} in flight`}</Text>
      <Text>{`usage ${tenant.usage?.month ?? ""}: ${tenant.usage?.tool_calls ?? 0} calls  ${tenant.usage?.estimated_cost ?? 0} ${tenant.usage?.currency ?? ""}  ${tools.map(([t, n]) => `${t} ${n}`).join(", ")}`}</Text>
      <Text bold>{`${pad("KEY", 14)}${pad("LABEL", 10)}${pad("STATE", 9)}${pad("LAST USED", 21)}${pad("EXPIRES", 21)}`}</Text>
      {tenant.api_keys.slice(0, 6).map((k, i) => (
        <Text key={k.id} inverse={i === selectedKey}>{`${pad(k.id, 14)}${pad(k.label, 10)}${pad(k.state, 9)}${pad(k.last_used_at?.slice(0, 19) ?? "-", 21)}${pad(k.expires_at?.slice(0, 19) ?? "-", 21)}`}</Text>
      ))}
      <Text bold>{`CONNECTED APPS (${tenant.oauth_grants?.length ?? 0})  o: revoke one`}</Text>
      {(tenant.oauth_grants ?? []).slice(0, 3).map((g, i) => (
        <Text key={g.id}>{`${i + 1} ${pad(g.client_name, 20)} ${pad(g.subject, 22)} ${pad(g.scopes.map((s) => s.split(":")[1]).join(","), 16)} ${g.last_used_at.slice(5, 16)}`}</Text>
      ))}
      <Text bold>RECENT AUDIT</Text>
      {tenant.audit.slice(-3).map((e, i) => (
        <Text key={i}>{`${e.time.slice(5, 19)} ${pad(e.action, 20)} ${pad(e.actor, 22)} ${e.outcome}`}</Text>
      ))}
    </Box>
  );
}

export function Help() {
  const rows: [string, string][] = [
    ["1 / d", "dashboard"],
    ["2 / t", "tenants table"],
    ["↑ ↓", "select"],
    ["enter", "tenant detail (esc: back)"],
    ["s", "sort tenants (id, req/min, usage, quota)"],
    ["/", "filter tenants (enter to apply, empty clears)"],
    ["a", "add a tenant (shows its key once)"],
    ["S", "suspend / resume the selected tenant"],
    ["p", "change the selected tenant's plan"],
    ["k", "create a key for the selected tenant"],
    ["r / x", "in detail: rotate / revoke the selected key"],
    ["o", "in detail: revoke a connected app (OAuth grant)"],
    ["b", "run a backup now"],
    ["?", "this help"],
    ["q", "quit"],
  ];
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold>Keys</Text>
      {rows.map(([key, what]) => (
        <Text key={key}>{`${pad(key, 8)}${what}`}</Text>
      ))}
    </Box>
  );
}
