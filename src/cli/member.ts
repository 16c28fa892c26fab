/** `mcp-mt member …`: the people who sign in on the OAuth pages. Thin wrappers over MemberService. */
import { adminClient } from "../admin/client.ts";
import { invalidInput } from "../errors.ts";
import { roles, type Role } from "../oauth/members.ts";
import { localOAuthOperator, remoteOAuthOperator, type OAuthOperator } from "../oauth/oauth-operator.ts";
import { otpauthUri } from "../oauth/totp.ts";
import { operatorActor } from "../audit/actor.ts";
import { createServices } from "../services.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { configFrom, str, withServices } from "./context.ts";
import { table } from "./output.ts";
import type { CommandContext, Handler } from "./spec.ts";

/** A password from stdin (--password-stdin), so it never appears in the process list or shell history. */
async function passwordFrom(ctx: CommandContext): Promise<string | undefined> {
  if (!ctx.values["password-stdin"]) return undefined;
  const text = (await new Response(Bun.stdin.stream()).text()).replace(/\r?\n$/, "");
  if (!text) throw invalidInput("--password-stdin: stdin was empty");
  return text;
}

/** Runs an OAuth action through the running server's admin API when one serves this data directory, else on the files. */
export async function withOAuthOperator<T>(ctx: CommandContext, fn: (operator: OAuthOperator) => Promise<T>): Promise<T> {
  const loaded = configFrom(ctx);
  const client = adminClient(loaded.config);
  if (client) return fn(remoteOAuthOperator(client));
  const services = await createServices(loaded);
  try {
    return await fn(localOAuthOperator(services, operatorActor()));
  } finally {
    await services.close();
  }
}

const tenantFlag = (ctx: CommandContext) => {
  const tenant = str(ctx, "tenant");
  return tenant === undefined ? undefined : assertTenantId(tenant);
};

export const memberAdd: Handler = async (ctx) => {
  const tenant = assertTenantId(ctx.positionals[0]);
  const role = (str(ctx, "role") ?? "member") as Role;
  if (!roles.includes(role)) throw invalidInput(`--role must be one of ${roles.join(", ")}`);
  const given = await passwordFrom(ctx);
  return withOAuthOperator(ctx, async (op) => {
    const member = await op.addMember(tenant, ctx.positionals[1]!, role, given);
    const human = [`Added ${member.email} to ${tenant} as ${member.role}.`];
    if (!given) human.push("", "Password (shown once; the member signs in with it on the sign-in page):", `  ${member.password}`);
    ctx.out.result(human.join("\n"), given ? { ...member, password: undefined } : member);
  });
};

export const memberList: Handler = (ctx) =>
  withServices(ctx, async (rt) => {
    const tenant = assertTenantId(ctx.positionals[0]);
    await rt.tenants.get(tenant);
    const list = await rt.oauth.members.list(tenant);
    const human = list.length ? table(["EMAIL", "ROLE", "PASSWORD", "ADDED"], list.map((m) => [m.email, m.role, m.has_password ? "set" : "-", m.created_at])) : `Tenant ${tenant} has no members. Add one with: mcp-mt member add ${tenant} <email>`;
    ctx.out.result(human, { tenant, members: list });
  });

export const memberRemove: Handler = (ctx) =>
  withOAuthOperator(ctx, async (op) => {
    const member = await op.removeMember(ctx.positionals[0]!, tenantFlag(ctx));
    ctx.out.result(`Removed ${member.email} from ${member.tenant_id}; their connected apps lose access within a second.`, { ...member, removed: true });
  });

export const memberReset: Handler = async (ctx) => {
  const given = await passwordFrom(ctx);
  return withOAuthOperator(ctx, async (op) => {
    const member = await op.resetMember(ctx.positionals[0]!, { tenant: tenantFlag(ctx), password: given });
    const human = [`New password for ${member.email} (${member.tenant_id}); their connected apps were signed out.`];
    if (!given) human.push("", "Password (shown once):", `  ${member.password}`);
    ctx.out.result(human.join("\n"), given ? { ...member, password: undefined } : member);
  });
};

export const memberLink: Handler = (ctx) =>
  withOAuthOperator(ctx, async (op) => {
    const { member, url, expires_at } = await op.linkMember(ctx.positionals[0]!, tenantFlag(ctx));
    ctx.out.result([`One-time sign-in link for ${member.email} (${member.tenant_id}), valid until ${expires_at}:`, `  ${url}`].join("\n"), { email: member.email, tenant_id: member.tenant_id, url, expires_at });
  });

export const memberTotp: Handler = (ctx) =>
  withOAuthOperator(ctx, async (op) => {
    const off = Boolean(ctx.values.off);
    const { member, secret } = await op.setTotp(ctx.positionals[0]!, tenantFlag(ctx), !off);
    if (!secret) return ctx.out.result(`Second factor turned off for ${member.email} (${member.tenant_id}).`, { ...member, totp: false });
    const uri = otpauthUri(secret, member.email);
    const human = [`Second factor on for ${member.email} (${member.tenant_id}): sign-in now also asks for a 6-digit code.`, "", "Add this to the member's authenticator app (shown once):", `  secret: ${secret}`, `  ${uri}`].join("\n");
    ctx.out.result(human, { ...member, totp: true, secret, otpauth_uri: uri });
  });
