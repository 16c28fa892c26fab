/** What the TUI shows, fetched from the running server's admin API. */
import type { AdminClient } from "../client.ts";

export type LiveTenant = {
  id: string;
  name: string;
  plan: string;
  status: "active" | "suspended" | "moving";
  keys: number;
  encrypted: boolean;
  live: {
    requests_per_minute: number;
    rate_limited_per_minute: number;
    errors_per_minute: number;
    latency_ms: { p50: number; p95: number; p99: number } | null;
    in_flight: number;
    database_open: boolean;
    /** What was found wrong with the tenant's database file, or null when it is not known to be damaged. */
    database_damaged: string | null;
  };
  usage: { month: string; tool_calls: number; estimated_cost: number; quota_used_pct: number };
};

export type Status = { version: string; pid: number; uptime_s: number; draining: boolean; tenants: number; open_databases: number; damaged_tenants: string[]; requests_per_second: number };

export type TenantDetail = LiveTenant & {
  limits: Record<string, number>;
  api_keys: { id: string; label: string; state: string; scopes: string[]; expires_at: string | null; last_used_at: string | null }[];
  usage: { tools: Record<string, number>; tool_calls: number; documents_created: number; searches: number; estimated_cost: number; currency: string } & LiveTenant["usage"];
  audit: { time: string; actor: string; action: string; target: string | null; outcome: string }[];
  /** Active OAuth grants (connected apps). */
  oauth_grants: { id: string; client_name: string; subject: string; scopes: string[]; last_used_at: string }[];
  database: { documents: number | null; bytes: number; health: { state: "ok" } | { state: "damaged"; problem: string } };
};

export async function loadOverview(client: AdminClient): Promise<{ status: Status; tenants: LiveTenant[] }> {
  const [status, list] = await Promise.all([client.call<Status>("GET", "/v1/status"), client.call<{ tenants: LiveTenant[] }>("GET", "/v1/tenants")]);
  return { status, tenants: list.tenants };
}

export const loadDetail = (client: AdminClient, id: string) => client.call<TenantDetail>("GET", `/v1/tenants/${encodeURIComponent(id)}`);
