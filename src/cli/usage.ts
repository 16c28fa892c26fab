/** `mcp-mt usage`: per-tenant counts and estimated cost for a month, as a table, JSON or CSV for billing. */
import { invalidInput } from "../errors.ts";
import { monthOf } from "../metering/usage-meter.ts";
import { usageReport, type UsageRow } from "../metering/usage-report.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { str, withServices } from "./context.ts";
import { table } from "./output.ts";
import type { Handler } from "./spec.ts";

const columns = ["tenant", "month", "tool_calls", "documents_created", "searches", "rate_limited", "quota_exceeded", "estimated_cost", "currency"] as const;

export const usage: Handler = async (ctx) => {
  const month = str(ctx, "month") ?? monthOf(Date.now());
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw invalidInput(`--month ${JSON.stringify(month)} must be YYYY-MM, e.g. 2026-11`);
  const format = str(ctx, "format") ?? (ctx.out.json ? "json" : "table");
  if (!["table", "json", "csv"].includes(format)) throw invalidInput(`--format must be table, json or csv, not ${JSON.stringify(format)}`);
  const tenant = str(ctx, "tenant");
  if (tenant !== undefined) assertTenantId(tenant);
  return withServices(ctx, async (rt) => {
    if (tenant !== undefined) await rt.tenants.get(tenant);
    const rows = await usageReport({ control: rt.control, pricing: rt.config.pricing, month, tenant });
    if (format === "json") return void process.stdout.write(`${JSON.stringify({ month, tenants: rows }, null, 2)}\n`);
    if (format === "csv") return void process.stdout.write(toCsv(rows));
    ctx.out.result(
      rows.length ? table(columns.map((c) => c.toUpperCase()), rows.map((r) => columns.map((c) => r[c]))) : `No usage recorded in ${month}.`,
      { month, tenants: rows },
    );
  });
};

function toCsv(rows: UsageRow[]): string {
  const escape = (value: unknown) => (/[",\n]/.test(String(value)) ? `"${String(value).replaceAll('"', '""')}"` : String(value));
  return `${[columns.join(","), ...rows.map((r) => columns.map((c) => escape(r[c])).join(","))].join("\n")}\n`;
}
