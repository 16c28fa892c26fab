/** `mcp-mt backup`, `backup verify`, `restore`. */
import { resolve } from "node:path";
import { adminClient } from "../admin/client.ts";
import { AppError, invalidInput } from "../errors.ts";
import { openVault, sqliteOptions } from "../services.ts";
import { readManifest, verifyBackup } from "../tenancy/backups.ts";
import { runningServer } from "../tenancy/server-lock.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { configFrom, str, withServices } from "./context.ts";
import { table } from "./output.ts";
import type { Handler } from "./spec.ts";

export const backup: Handler = async (ctx) => {
  const tenant = str(ctx, "tenant");
  if (tenant !== undefined) assertTenantId(tenant);
  if (tenant !== undefined && ctx.values.all) throw invalidInput("use either --tenant ID or --all");
  const includeSecrets = Boolean(ctx.values["include-secrets"]);
  return withServices(ctx, async (rt, by) => {
    if (tenant !== undefined) await rt.tenants.get(tenant);
    // Online: VACUUM INTO reads a consistent snapshot even while a server writes.
    const { dir, manifest } = await rt.backups.backup({ out: resolve(str(ctx, "out") ?? rt.config.backups.dir), tenant, includeSecrets }, by);
    const human = [
      `Backup written to ${dir}`,
      "",
      table(["FILE", "BYTES", "ENCRYPTED", "SHA-256"], manifest.files.map((f) => [f.path, f.bytes, f.encrypted ? "yes" : "no", f.sha256.slice(0, 16)])),
      "",
      includeSecrets
        ? `This backup CONTAINS THE API-KEY PEPPER (${manifest.secrets!.pepper}): whoever holds it can check guessed keys offline. Store it as you store the pepper itself. (The master key is never included.)`
        : "The API-key pepper is not in this backup: keep it separately (or use --include-secrets), or no restored key verifies on another machine.",
      ...(manifest.damaged?.length
        ? [
            "",
            `NOT BACKED UP (database damaged): ${manifest.damaged.map((d) => d.tenant).join(", ")}`,
            ...manifest.damaged.map((d) => `  ${d.tenant}: ${d.problem}`),
            "Every other tenant is in this backup. Repair: mcp-mt restore <last good backup> --tenant <id> (see mcp-mt tenant check).",
          ]
        : []),
    ].join("\n");
    ctx.out.result(human, { dir, manifest, includes_secrets: includeSecrets, damaged: manifest.damaged ?? [] });
    // Something was left out: a script or a cron job must notice.
    return manifest.damaged?.length ? 1 : 0;
  });
};

/** Reads only the backup: no data directory is opened or created. */
export const backupVerify: Handler = async (ctx) => {
  const loaded = configFrom(ctx);
  const result = await verifyBackup(resolve(ctx.positionals[0]!), { sqlite: sqliteOptions(loaded.config), vault: await openVault(loaded) });
  const human = [
    result.ok ? `Backup ${ctx.positionals[0]} verifies: ${result.files.length} files intact.` : `Backup ${ctx.positionals[0]} is DAMAGED.`,
    result.manifest.secrets ? "It contains the API-key pepper (secrets/pepper)." : "It does not contain the API-key pepper.",
    "",
    table(["FILE", "OK", "PROBLEM"], result.files.map((f) => [f.path, f.ok ? "yes" : "NO", f.problem ?? null])),
  ].join("\n");
  ctx.out.result(human, result);
  return result.ok ? 0 : 1;
};

export const restore: Handler = async (ctx) => {
  const tenant = str(ctx, "tenant");
  if (tenant !== undefined) assertTenantId(tenant);
  const loaded = configFrom(ctx);
  const dir = resolve(ctx.positionals[0]!);
  // Not a backup: say so before anything (a data directory included) is created.
  readManifest(dir);
  // With a server running, only it may replace its open files: go through its admin API.
  const client = adminClient(loaded.config);
  if (client) {
    const { restored } = await client.call<{ restored: string[] }>("POST", "/v1/restore", { dir, tenant });
    return void ctx.out.result(`Restored ${restored.join(", ")} from ${ctx.positionals[0]} through the running server.`, { restored, via: "admin-api" });
  }
  const running = runningServer(loaded.config.data.dir);
  if (running) {
    throw new AppError("conflict", `a server (pid ${running.pid}) is using ${loaded.config.data.dir} and its admin socket does not answer: stop it first`);
  }
  return withServices(
    ctx,
    async (rt, by) => {
      const result = await rt.backups.restore(dir, tenant, { adoptPepper: true }, by);
      const adopted = result.pepper_adopted ? ` The backup's API-key pepper was installed as ${rt.pepper.where}.` : "";
      ctx.out.result(`Restored ${result.restored.length ? result.restored.join(", ") : "the control plane"} from ${ctx.positionals[0]}.${adopted}`, result);
    },
    // Restoring onto a new machine starts from an empty data directory.
    { create: true },
  );
};
