/** `mcp-mt migrate [--dry-run]`: every tenant (file, row, schema or database) to the current schema, reported per tenant. */
import { withServices } from "./context.ts";
import { table } from "./output.ts";
import type { Handler } from "./spec.ts";

export const migrate: Handler = (ctx) =>
  withServices(ctx, async (rt) => {
    const dryRun = Boolean(ctx.values["dry-run"]);
    const reports = await rt.migrations.run({ dryRun });
    const failed = reports.filter((r) => r.status === "failed" || r.status === "missing");
    const human = [
      `Control plane: current${rt.control.dialect === "postgres" ? " (PostgreSQL)" : ""}. Tenant schema: ${rt.migrations.latest}.${dryRun ? " (dry run: nothing changed)" : ""}`,
      reports.length
        ? table(["TENANT", "ISOLATION", "STATUS", "MIGRATIONS", "ERROR"], reports.map((r) => [r.tenant, r.isolation, r.status, r.migrations.join(",") || null, r.error ?? null]))
        : "No tenants.",
    ].join("\n");
    ctx.out.result(human, { dry_run: dryRun, latest: rt.migrations.latest, latest_sets: rt.migrations.latestSets, tenants: reports });
    return failed.length ? 1 : 0;
  });
