/** `mcp-mt key …`: thin wrappers over KeyService. */
import { parseScopes } from "../auth/scopes.ts";
import { parseDuration, parseExpiry } from "../duration.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { str, withOperator, withServices } from "./context.ts";
import { table } from "./output.ts";
import type { Handler } from "./spec.ts";

export const keyCreate: Handler = (ctx) =>
  withOperator(ctx, async (rt) => {
    const tenant = assertTenantId(ctx.positionals[0]);
    const scopes = str(ctx, "scopes") !== undefined ? parseScopes(str(ctx, "scopes")!) : undefined;
    const expires = str(ctx, "expires");
    const key = await rt.keys.create(tenant, { label: str(ctx, "label"), scopes, expiresAt: expires ? parseExpiry(expires, rt.clock()) : null });
    const human = [
      `Created key ${key.id} for ${tenant} (scopes ${key.scopes.join(",")}${key.expires_at ? `, expires ${key.expires_at}` : ""}).`,
      "",
      "API key (shown once, store it now):",
      `  ${key.api_key}`,
    ].join("\n");
    ctx.out.result(human, key);
  });

export const keyList: Handler = (ctx) =>
  withServices(ctx, async (rt) => {
    const tenant = assertTenantId(ctx.positionals[0]);
    await rt.tenants.get(tenant);
    const keys = await rt.keys.list(tenant);
    const human = keys.length
      ? table(
          ["KEY ID", "LABEL", "STATE", "SCOPES", "CREATED", "EXPIRES", "LAST USED"],
          keys.map((k) => [k.id, k.label, k.state, k.scopes.join(","), k.created_at, k.expires_at, k.last_used_at]),
        )
      : `Tenant ${tenant} has no API keys. Create one with: mcp-mt key create ${tenant}`;
    ctx.out.result(human, { tenant, keys });
  });

export const keyRevoke: Handler = (ctx) =>
  withOperator(ctx, async (rt) => {
    const key = await rt.keys.revoke(ctx.positionals[0]!);
    ctx.out.result(`Revoked key ${key.id} of tenant ${key.tenant_id}.`, key);
  });

export const keyRotate: Handler = (ctx) =>
  withOperator(ctx, async (rt) => {
    const grace = str(ctx, "grace") ?? "24h";
    const graceMs = /^0+(ms|s|m|h|d|w)?$/.test(grace) ? 0 : parseDuration(grace, "--grace");
    const { created, old } = await rt.keys.rotate(ctx.positionals[0]!, graceMs);
    const human = [
      `Rotated key ${old.id} of ${old.tenant_id}: it keeps working until ${old.expires_at}.`,
      `New key ${created.id} (scopes ${created.scopes.join(",")}).`,
      "",
      "API key (shown once, store it now):",
      `  ${created.api_key}`,
    ].join("\n");
    ctx.out.result(human, { ...created, replaces: { id: old.id, expires_at: old.expires_at } });
  });
