/** `mcp-mt tenant …`: thin wrappers over TenantService. */
import { mcpEndpoint } from "../config/urls.ts";
import { invalidInput } from "../errors.ts";
import type { TenantInfo } from "../tenancy/tenants.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { str, withOperator, withRuntime } from "./context.ts";
import { table } from "./output.ts";
import type { Handler } from "./spec.ts";

/** Like withRuntime, but the tenant id argument is validated before anything touches the file system. */
const withTenant: typeof withRuntime = (ctx, fn) => {
  assertTenantId(ctx.positionals[0]);
  return withRuntime(ctx, fn);
};

/** A mutating tenant action: id validated first, then through the admin API or on the files. */
const operateOn: typeof withOperator = (ctx, fn) => {
  assertTenantId(ctx.positionals[0]);
  return withOperator(ctx, fn);
};

export const tenantAdd: Handler = (ctx) =>
  operateOn(ctx, async (rt) => {
    const { tenant, key } = await rt.tenants.add({ id: ctx.positionals[0]!, name: str(ctx, "name"), plan: str(ctx, "plan") });
    const url = mcpEndpoint(rt.config);
    const human = [
      `Created tenant ${tenant.id} (plan ${tenant.plan}).`,
      "",
      "API key (shown once, store it now):",
      `  ${key.api_key}`,
      "",
      "Connect a client over HTTP:",
      `  URL:     ${url}`,
      `  Header:  Authorization: Bearer ${key.api_key}`,
      "",
      "For example with Claude Code:",
      `  claude mcp add --transport http ${tenant.id} ${url} --header "Authorization: Bearer ${key.api_key}"`,
    ].join("\n");
    ctx.out.result(human, { ...tenant, api_key: key.api_key, key_id: key.id, mcp_url: url });
  });

export const tenantList: Handler = (ctx) =>
  withRuntime(ctx, async (rt) => {
    const tenants = await rt.tenants.list();
    const human = tenants.length
      ? table(["ID", "NAME", "PLAN", "STATUS", "KEYS", "CREATED"], tenants.map((t) => [t.id, t.name, t.plan, t.status, t.keys, t.created_at]))
      : "No tenants yet. Add one with: mcp-mt tenant add <id>";
    ctx.out.result(human, { tenants });
  });

export const tenantShow: Handler = (ctx) =>
  withTenant(ctx, async (rt) => {
    const t = await rt.tenants.show(ctx.positionals[0]!);
    const human = [
      `Tenant:    ${t.id} (${t.name})`,
      `Plan:      ${t.plan}${Object.keys(t.overrides).length ? ` with overrides ${JSON.stringify(t.overrides)}` : ""}`,
      `Status:    ${t.status}`,
      `Encrypted: ${t.encrypted ? "yes (own data key, wrapped by the master key)" : "no"}`,
      `Limits:    ${t.limits.rate_limit_per_minute} calls/min, ${t.limits.monthly_tool_calls} calls/month, ${t.limits.max_documents} documents, ${t.limits.max_storage_bytes} bytes, ${t.limits.max_concurrency} in flight`,
      `Created:   ${t.created_at}`,
      `Database:  ${t.database.path} (${t.database.bytes} bytes, ${t.database.documents} documents)`,
      "",
      t.api_keys.length
        ? table(["KEY ID", "LABEL", "STATE", "SCOPES", "EXPIRES", "LAST USED"], t.api_keys.map((k) => [k.id, k.label, k.state, k.scopes.join(","), k.expires_at, k.last_used_at]))
        : "No API keys.",
    ].join("\n");
    ctx.out.result(human, t);
  });

const summary = (verb: string) => (t: TenantInfo) => `Tenant ${t.id} ${verb} (status ${t.status}, plan ${t.plan}).`;

export const tenantSuspend: Handler = (ctx) =>
  operateOn(ctx, async (rt) => {
    const t = await rt.tenants.suspend(ctx.positionals[0]!);
    ctx.out.result(summary("suspended")(t), t);
  });

export const tenantResume: Handler = (ctx) =>
  operateOn(ctx, async (rt) => {
    const t = await rt.tenants.resume(ctx.positionals[0]!);
    ctx.out.result(summary("resumed")(t), t);
  });

export const tenantSetPlan: Handler = (ctx) =>
  operateOn(ctx, async (rt) => {
    const t = await rt.tenants.setPlan(ctx.positionals[0]!, ctx.positionals[1]!);
    ctx.out.result(summary("updated")(t), t);
  });

export const tenantRemove: Handler = async (ctx) => {
  if (!ctx.values.yes) throw invalidInput(`removing ${ctx.positionals[0]} deletes its database and keys for good; add --yes to confirm`);
  return operateOn(ctx, async (rt) => {
    const result = await rt.tenants.remove(ctx.positionals[0]!);
    ctx.out.result(`Removed tenant ${result.id}, its keys and its database file.`, result);
  });
};

const limitFlags = {
  "rate-limit": "rate_limit_per_minute",
  "discovery-per-minute": "discovery_per_minute",
  "monthly-tool-calls": "monthly_tool_calls",
  "max-documents": "max_documents",
  "max-storage-bytes": "max_storage_bytes",
  "max-concurrency": "max_concurrency",
  "max-streams": "max_streams",
  "cpu-ms-per-minute": "cpu_ms_per_minute",
  "request-timeout-ms": "request_timeout_ms",
} as const;

export const tenantSetLimit: Handler = (ctx) =>
  operateOn(ctx, async (rt) => {
    const overrides: Partial<Record<(typeof limitFlags)[keyof typeof limitFlags], number>> = {};
    for (const [flag, key] of Object.entries(limitFlags)) {
      const value = str(ctx, flag);
      if (value === undefined) continue;
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < 1) throw invalidInput(`--${flag} must be a positive whole number, not ${JSON.stringify(value)}`);
      overrides[key] = n;
    }
    const clear = Boolean(ctx.values.clear);
    if (!clear && Object.keys(overrides).length === 0) throw invalidInput(`give at least one limit (--${Object.keys(limitFlags).join(", --")}) or --clear`);
    const t = await rt.tenants.setOverrides(ctx.positionals[0]!, overrides, clear);
    const shown = Object.keys(t.overrides).length ? Object.entries(t.overrides).map(([k, v]) => `${k}=${v}`).join(", ") : "none (plan limits apply)";
    ctx.out.result(`Tenant ${t.id} (plan ${t.plan}) overrides: ${shown}.`, t);
  });
