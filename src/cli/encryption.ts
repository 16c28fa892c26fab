/** `mcp-mt tenant encrypt` and `mcp-mt encryption rotate-master`. */
import { readSecretFile } from "../config/secret-file.ts";
import { AppError, invalidInput } from "../errors.ts";
import { KeyVault } from "../tenancy/key-vault.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { runningServer } from "../tenancy/server-lock.ts";
import { configFrom, str, withServices } from "./context.ts";
import { table } from "./output.ts";
import type { Handler } from "./spec.ts";

export const tenantEncrypt: Handler = async (ctx) => {
  const id = ctx.positionals[0];
  const all = Boolean(ctx.values.all);
  if ((id === undefined) === !all) throw invalidInput("name one tenant or pass --all");
  if (id !== undefined) assertTenantId(id);
  const running = runningServer(configFrom(ctx).config.data.dir);
  if (running) throw new AppError("conflict", `a server (pid ${running.pid}) has the tenant files open: stop it before encrypting them`);
  return withServices(ctx, async (rt, by) => {
    const ids = all ? (await rt.tenants.list()).filter((t) => !t.encrypted).map((t) => t.id) : [id!];
    const results = [];
    for (const tenant of ids) results.push(await rt.encryption.encryptTenant(tenant, by));
    const human = results.length ? table(["TENANT", "STATUS", "DOCUMENTS"], results.map((r) => [r.tenant, r.status, r.documents])) : "Every tenant is already encrypted.";
    ctx.out.result(human, { tenants: results });
  });
};

export const rotateMaster: Handler = async (ctx) => {
  const file = str(ctx, "new-key-file");
  if (!file) throw invalidInput("--new-key-file PATH is required (the new master key, e.g. openssl rand -base64 32)");
  const next = await KeyVault.fromSecret(readSecretFile(file, "the new master key file"));
  return withServices(ctx, async (rt, by) => {
    const { rewrapped } = await rt.encryption.rotateMaster(next, by);
    ctx.out.result(
      `Rewrapped ${rewrapped} tenant keys under the new master key.\nNow point encryption.master_key_file (or MCP_MT_ENCRYPTION_MASTER_KEY) at the new key and restart; keep the old key until you have.`,
      { rewrapped },
    );
  });
};
