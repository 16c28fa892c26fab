/** `mcp-mt oauth …`: clients, grants and signing keys of the built-in authorization server. */
import { parseDuration } from "../duration.ts";
import { invalidInput } from "../errors.ts";
import { durationsOf } from "../oauth/settings.ts";
import { withOAuthOperator } from "./member.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { configFrom, str, withServices } from "./context.ts";
import { table } from "./output.ts";
import type { Handler } from "./spec.ts";

export const clientAdd: Handler = (ctx) =>
  withOAuthOperator(ctx, async (op) => {
    const redirects = (str(ctx, "redirect-uri") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    const client = await op.addClient(str(ctx, "name") ?? "", redirects);
    ctx.out.result([`Registered ${client.client_name}.`, "", `client_id: ${client.client_id}`, `redirect URIs: ${client.redirect_uris.join(" ")}`].join("\n"), client);
  });

export const clientList: Handler = (ctx) =>
  withServices(ctx, async (rt) => {
    const list = await rt.oauth.clients.list();
    const human = list.length ? table(["CLIENT ID", "NAME", "SOURCE", "CREATED", "LAST USED"], list.map((c) => [c.client_id, c.client_name, c.source, c.created_at, c.last_used_at])) : "No registered OAuth clients.";
    ctx.out.result(human, { clients: list });
  });

export const clientRemove: Handler = (ctx) =>
  withOAuthOperator(ctx, async (op) => {
    const client = await op.removeClient(ctx.positionals[0]!);
    ctx.out.result(`Removed client ${client.client_id} (${client.client_name}).`, { ...client, removed: true });
  });

export const grantList: Handler = (ctx) =>
  withServices(ctx, async (rt) => {
    const tenant = assertTenantId(ctx.positionals[0]);
    await rt.tenants.get(tenant);
    const grants = await rt.oauth.grants.list(tenant);
    const human = grants.length
      ? table(["GRANT", "CLIENT", "SUBJECT", "SCOPES", "STATE", "CREATED", "LAST USED"], grants.map((g) => [g.id, g.client_name, g.subject, g.scopes.join(","), g.state, g.created_at, g.last_used_at]))
      : `Tenant ${tenant} has no OAuth grants.`;
    ctx.out.result(human, { tenant, grants });
  });

export const grantRevoke: Handler = (ctx) =>
  withOAuthOperator(ctx, async (op) => {
    const grant = await op.revokeGrant(ctx.positionals[0]!);
    ctx.out.result(`Revoked grant ${grant.id} (${grant.client_name}, tenant ${grant.tenant_id}); its tokens are refused within a second.`, grant);
  });

export const rotateKeys: Handler = async (ctx) => {
  const config = configFrom(ctx).config;
  const grace = str(ctx, "grace");
  const { graceMs: configured, accessMs } = durationsOf(config);
  const graceMs = grace === undefined ? configured : parseDuration(grace, "--grace");
  if (graceMs < accessMs) throw invalidInput(`--grace must be at least auth.oauth.access_token_ttl (${config.auth.oauth.access_token_ttl})`);
  return withOAuthOperator(ctx, async (op) => {
    const { kid, retired } = await op.rotateKeys(graceMs);
    const until = new Date(Date.now() + graceMs).toISOString();
    ctx.out.result(`New signing key ${kid}. ${retired.length ? `Tokens signed by ${retired.join(", ")} are accepted until ${until}.` : ""}`.trim(), { kid, retired, retired_until: until });
  });
};
