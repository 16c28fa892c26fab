/** `mcp-mt tenant …`: thin wrappers over TenantService. */
import type { PgIsolation } from "../config/schema.ts";
import { readFileSync } from "node:fs";
import { mcpEndpoint } from "../config/urls.ts";
import { invalidInput } from "../errors.ts";
import type { NewTenant, TenantInfo } from "../tenancy/tenants.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { str, withOperator, withServices } from "./context.ts";
import { csvField, parseCsv } from "./csv.ts";
import { table } from "./output.ts";
import type { Handler } from "./spec.ts";

/** Like withServices, but the tenant id argument is validated before anything touches the file system. */
const withTenant: typeof withServices = (ctx, fn) => {
  assertTenantId(ctx.positionals[0]);
  return withServices(ctx, fn);
};

/** A mutating tenant action: id validated first, then through the admin API or on the files. */
const operateOn: typeof withOperator = (ctx, fn, options) => {
  assertTenantId(ctx.positionals[0]);
  return withOperator(ctx, fn, options);
};

export const tenantAdd: Handler = (ctx) => {
  const from = str(ctx, "from");
  if (from !== undefined) {
    if (ctx.positionals[0] !== undefined) throw invalidInput("give either a tenant id or --from FILE, not both");
    return tenantAddFrom(ctx, from);
  }
  if (str(ctx, "format") !== undefined) throw invalidInput("--format goes with --from FILE");
  if (ctx.positionals[0] === undefined) throw invalidInput("missing argument <id> (or --from FILE to add many tenants)");
  return operateOn(ctx, async (rt) => {
    const isolation = str(ctx, "isolation");
    if (isolation !== undefined && !["row", "schema", "database"].includes(isolation)) throw invalidInput(`--isolation must be row, schema or database, not "${isolation}"`);
    const { tenant, key } = await rt.tenants.add({ id: ctx.positionals[0]!, name: str(ctx, "name"), plan: str(ctx, "plan"), isolation: isolation as PgIsolation | undefined });
    const url = mcpEndpoint(rt.config);
    const human = [
      `Created tenant ${tenant.id} (plan ${tenant.plan}${tenant.isolation === "file" ? "" : `, PostgreSQL ${tenant.isolation} isolation`}).`,
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
  }, { create: true });
};

/**
 * `tenant add --from FILE` (or - for stdin): a CSV with a header row naming the columns id (required), plan
 * and name (optional; empty: free, the id). Every row is checked before anything is created, and then all
 * are created or none; the keys are printed once, as a table, JSON or CSV.
 */
async function tenantAddFrom(ctx: Parameters<Handler>[0], from: string): Promise<void> {
  const format = str(ctx, "format") ?? (ctx.out.json ? "json" : "table");
  if (!["table", "json", "csv"].includes(format)) throw invalidInput(`--format must be table, json or csv, not ${JSON.stringify(format)}`);
  if (ctx.values.name !== undefined || ctx.values.plan !== undefined) throw invalidInput("with --from, name and plan come from the file's columns");
  let text: string;
  try {
    text = from === "-" ? await Bun.stdin.text() : readFileSync(from, "utf8");
  } catch (error) {
    throw invalidInput(`cannot read ${from}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const source = from === "-" ? "stdin" : from;
  const records = parseCsv(text, { required: ["id"], optional: ["plan", "name"] }, source);
  if (records.length === 0) throw invalidInput(`${source} has a header row but no tenants`);
  const inputs: NewTenant[] = records.map(({ line, fields }) => {
    try {
      assertTenantId(fields.id);
    } catch (error) {
      throw invalidInput(`${source} line ${line}: ${(error as Error).message}`);
    }
    return { id: fields.id!, ...(fields.plan ? { plan: fields.plan } : {}), ...(fields.name ? { name: fields.name } : {}) };
  });
  return withOperator(
    ctx,
    async (rt) => {
      const { tenants: created } = await rt.tenants.addMany(inputs);
      const url = mcpEndpoint(rt.config);
      const rows = created.map(({ tenant, key }) => ({ id: tenant.id, name: tenant.name, plan: tenant.plan, key_id: key.id, api_key: key.api_key }));
      if (format === "json") return void process.stdout.write(`${JSON.stringify({ created: rows.length, mcp_url: url, tenants: rows }, null, 2)}\n`);
      if (format === "csv") {
        const columns = ["id", "name", "plan", "key_id", "api_key"] as const;
        return void process.stdout.write(`${[columns.join(","), ...rows.map((r) => columns.map((c) => csvField(r[c])).join(","))].join("\n")}\n`);
      }
      process.stdout.write(
        [`Created ${rows.length} tenants. API keys (shown once, store them now); clients connect to ${url}`, "", table(["ID", "PLAN", "KEY ID", "API KEY"], rows.map((r) => [r.id, r.plan, r.key_id, r.api_key]))].join("\n") + "\n",
      );
    },
    { create: true },
  );
}

export const tenantList: Handler = (ctx) =>
  withServices(ctx, async (rt) => {
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
      t.database.health.state === "damaged"
        ? `Database:  ${t.database.path} (${t.database.bytes} bytes) DAMAGED: ${t.database.health.problem}\n           Repair: mcp-mt restore <last good backup> --tenant ${t.id}; then mcp-mt tenant check ${t.id}`
        : t.isolation === "file"
          ? `Database:  ${t.database.path} (${t.database.bytes} bytes, ${t.database.documents} documents, ok)`
          : `Database:  PostgreSQL, ${t.isolation} isolation: ${t.database.path} (${t.database.documents} documents, ok)`,
      "",
      t.api_keys.length
        ? table(["KEY ID", "LABEL", "STATE", "SCOPES", "EXPIRES", "LAST USED"], t.api_keys.map((k) => [k.id, k.label, k.state, k.scopes.join(","), k.expires_at, k.last_used_at]))
        : "No API keys.",
    ].join("\n");
    ctx.out.result(human, t);
  });

/** `tenant check [<id>]`: integrity checks through the running server, or on the files; exit 1 if any is damaged. */
export const tenantCheck: Handler = (ctx) => {
  const id = ctx.positionals[0];
  if (id !== undefined) assertTenantId(id);
  return withOperator(ctx, async (op) => {
    const { results } = await op.tenants.check(id);
    const damaged = results.filter((r) => !r.ok);
    const human = [
      table(["TENANT", "STATE", "PROBLEM"], results.map((r) => [r.id, r.ok ? "ok" : "DAMAGED", r.problems.slice(0, 3).join("; ") || null])),
      "",
      damaged.length
        ? `${damaged.length} of ${results.length} tenant databases are damaged: ${damaged.map((r) => r.id).join(", ")}. Repair each: mcp-mt restore <last good backup> --tenant <id>`
        : `All ${results.length} tenant databases pass the integrity checks.`,
    ].join("\n");
    ctx.out.result(human, { ok: damaged.length === 0, results });
    return damaged.length ? 1 : 0;
  });
};

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
