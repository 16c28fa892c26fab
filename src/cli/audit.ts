/** `mcp-mt audit show|verify|export`. */
import { parseDuration } from "../duration.ts";
import { invalidInput } from "../errors.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { str, withServices } from "./context.ts";
import { table } from "./output.ts";
import type { Handler } from "./spec.ts";

function since(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d+(ms|s|m|h|d|w)$/.test(text)) return Date.now() - parseDuration(text, "--since");
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw invalidInput(`--since ${JSON.stringify(text)} is neither a duration (24h, 7d) nor a date (2026-11-01)`);
  return at;
}

export const auditShow: Handler = async (ctx) => {
  const tenant = str(ctx, "tenant");
  if (tenant !== undefined) assertTenantId(tenant);
  const from = since(str(ctx, "since"));
  const limit = Number(str(ctx, "limit") ?? "100");
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw invalidInput("--limit must be 1-100000");
  return withServices(ctx, async (rt) => {
    const entries = await rt.audit.list({ tenant, since: from, limit });
    const human = entries.length
      ? table(
          ["SEQ", "TIME", "ACTOR", "TENANT", "ACTION", "TARGET", "OUTCOME", "CLIENT"],
          entries.map((e) => [e.seq, e.time, e.actor, e.tenant, e.action, e.target, e.outcome, e.client]),
        )
      : "No audit entries.";
    ctx.out.result(human, { entries });
  });
};

export const auditVerify: Handler = (ctx) =>
  withServices(ctx, async (rt) => {
    const result = await rt.audit.verify();
    ctx.out.result(result.ok ? `Audit log intact: ${result.entries} entries, hash chain verified.` : `Audit log BROKEN at entry ${result.first_broken}: ${result.reason}`, result);
    return result.ok ? 0 : 1;
  });

export const auditExport: Handler = async (ctx) => {
  const format = str(ctx, "format") ?? "jsonl";
  if (format !== "jsonl") throw invalidInput(`--format must be jsonl, not ${JSON.stringify(format)}`);
  return withServices(ctx, async (rt) => {
    for await (const entry of rt.audit.all()) process.stdout.write(`${JSON.stringify(entry)}\n`);
  });
};
