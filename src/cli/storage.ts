/** `mcp-mt storage copy --to postgres://…`: this libSQL installation into PostgreSQL, verified, with next steps. */
import { eq } from "drizzle-orm";
import { AppError, invalidInput } from "../errors.ts";
import { createServices } from "../services.ts";
import { tenants } from "../store/control/schema.ts";
import { openPostgresControl } from "../store/control/postgres.ts";
import { redactedPgUrl } from "../store/pg-connect.ts";
import { openPostgresTenantStorage } from "../store/postgres/postgres-tenant-storage.ts";
import type { Isolation } from "../store/postgres/strategy.ts";
import { copyStorage } from "../tenancy/storage-copy.ts";
import { configFrom, str } from "./context.ts";
import { table } from "./output.ts";
import type { Handler } from "./spec.ts";

const strategies = ["row", "schema", "database"] as const;

/** `--isolation`, checked: one of the PostgreSQL strategies, or undefined. */
export function isolationFlag(value: string | undefined): Isolation | undefined {
  if (value === undefined) return undefined;
  if (!(strategies as readonly string[]).includes(value)) throw invalidInput(`--isolation must be row, schema or database (got ${JSON.stringify(value)})`);
  return value as Isolation;
}

export const storageCopy: Handler = async (ctx) => {
  const loaded = configFrom(ctx);
  const url = str(ctx, "to") ?? loaded.secrets.storageCopyTo;
  if (!url) throw invalidInput("say where to copy to: --to postgres://user@host:port/db (or the URL in MCP_MT_STORAGE_COPY_TO, which keeps a password off the command line)");
  if (!/^postgres(ql)?:\/\//.test(url)) throw invalidInput(`--to must be a postgres:// URL (got ${redactedPgUrl(url)})`);
  const forced = isolationFlag(str(ctx, "isolation"));
  const { config } = loaded;
  // The source is always the libSQL installation in data.dir, even when MCP_MT_STORAGE_URL is set.
  const source = await createServices({ ...loaded, config: { ...config, storage: { ...config.storage, url: "" } } }, { create: false });
  try {
    const pool = { max: Math.max(2, config.storage.pool_max), maxLifetimeS: config.storage.max_lifetime_s };
    const control = await openPostgresControl(url, pool);
    try {
      const storage = await openPostgresTenantStorage({
        url,
        sql: control.sql as never,
        isolation: forced ?? config.storage.isolation,
        strategyOf: async (id) => {
          const [row] = await control.db.select({ isolation: tenants.isolation }).from(tenants).where(eq(tenants.id, id));
          if (!row || row.isolation === "file") throw new AppError("not_found", `tenant ${id} is not in the target yet`);
          return row.isolation;
        },
        databasePoolMax: config.storage.database_pool_max,
        databasePoolsMax: config.storage.database_pools_max,
      });
      try {
        const report = await copyStorage(source, { control, storage }, (plan) => forced ?? config.plans[plan]?.isolation ?? config.storage.isolation);
        const pepperNote =
          source.pepper.source === "env"
            ? "Every instance needs the same MCP_MT_AUTH_PEPPER as this one (already set here)."
            : `Every instance needs MCP_MT_AUTH_PEPPER set to the content of ${source.pepper.where.replace(/^.*\((.*)\)$/, "$1")} (the API keys are hashed with it).`;
        const next = [
          `Copied to ${redactedPgUrl(url)} in ${(report.ms / 1000).toFixed(1)} s.${report.ok ? "" : " VERIFICATION FAILED: see the rows above marked no."}`,
          "Next: set MCP_MT_STORAGE_URL to that URL on every instance (storage.url; a password never goes in the TOML),",
          `  ${pepperNote}`,
          "  Documents of encrypted tenants are stored decrypted in PostgreSQL: encrypt the database's storage instead.",
          "  Stop the old server before the last copy: running this again brings the target up to date (documents deleted here since are deleted there), until PostgreSQL serves traffic.",
        ];
        const human = [
          table(["TABLE", "SOURCE ROWS", "TARGET ROWS", "CHECKSUM"], report.tables.map((t) => [t.table, t.source_rows, t.target_rows, t.checksum_ok ? "ok" : "no"])),
          "",
          report.tenants.length
            ? table(["TENANT", "ISOLATION", "DOCUMENTS", "IN TARGET", "REMOVED", "CHECKSUM", "MS"], report.tenants.map((t) => [t.tenant, t.isolation, t.source_documents, t.target_documents, t.removed, t.checksum_ok ? "ok" : "no", t.ms]))
            : "No tenants.",
          "",
          ...next,
        ].join("\n");
        ctx.out.result(human, { ...report, target: redactedPgUrl(url), pepper_from: source.pepper.where, next_steps: next.slice(1).map((l) => l.trim()) });
        return report.ok ? 0 : 1;
      } finally {
        await storage.closeAll();
      }
    } finally {
      await control.close();
    }
  } finally {
    await source.close();
  }
};
