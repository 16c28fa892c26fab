/** `mcp-mt member …`: the people who sign in on the OAuth pages. Thin wrappers over MemberService. */
import { publicBaseUrl } from "../config/urls.ts";
import { invalidInput } from "../errors.ts";
import { oauthServices } from "../oauth/authorization-server.ts";
import { roles, type Role } from "../oauth/members.ts";
import { otpauthUri } from "../oauth/totp.ts";
import { durationsOf, oauthPaths } from "../oauth/settings.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { str, withRuntime } from "./context.ts";
import { table } from "./output.ts";
import type { CommandContext, Handler } from "./spec.ts";

/** A password from stdin (--password-stdin), so it never appears in the process list or shell history. */
async function passwordFrom(ctx: CommandContext): Promise<string | undefined> {
  if (!ctx.values["password-stdin"]) return undefined;
  const text = (await new Response(Bun.stdin.stream()).text()).replace(/\r?\n$/, "");
  if (!text) throw invalidInput("--password-stdin: stdin was empty");
  return text;
}

const tenantFlag = (ctx: CommandContext) => {
  const tenant = str(ctx, "tenant");
  return tenant === undefined ? undefined : assertTenantId(tenant);
};

export const memberAdd: Handler = (ctx) =>
  withRuntime(ctx, async (rt) => {
    const tenant = assertTenantId(ctx.positionals[0]);
    const role = (str(ctx, "role") ?? "member") as Role;
    if (!roles.includes(role)) throw invalidInput(`--role must be one of ${roles.join(", ")}`);
    const given = await passwordFrom(ctx);
    const member = await oauthServices(rt).members.add(tenant, ctx.positionals[1]!, role, given);
    const human = [`Added ${member.email} to ${tenant} as ${member.role}.`];
    if (!given) human.push("", "Password (shown once; the member signs in with it on the sign-in page):", `  ${member.password}`);
    ctx.out.result(human.join("\n"), given ? { ...member, password: undefined } : member);
  });

export const memberList: Handler = (ctx) =>
  withRuntime(ctx, async (rt) => {
    const tenant = assertTenantId(ctx.positionals[0]);
    await rt.tenants.get(tenant);
    const list = await oauthServices(rt).members.list(tenant);
    const human = list.length ? table(["EMAIL", "ROLE", "PASSWORD", "ADDED"], list.map((m) => [m.email, m.role, m.has_password ? "set" : "-", m.created_at])) : `Tenant ${tenant} has no members. Add one with: mcp-mt member add ${tenant} <email>`;
    ctx.out.result(human, { tenant, members: list });
  });

export const memberRemove: Handler = (ctx) =>
  withRuntime(ctx, async (rt) => {
    const member = await oauthServices(rt).members.remove(ctx.positionals[0]!, tenantFlag(ctx));
    ctx.out.result(`Removed ${member.email} from ${member.tenant_id}; their connected apps lose access within a second.`, { ...member, removed: true });
  });

export const memberReset: Handler = (ctx) =>
  withRuntime(ctx, async (rt) => {
    const given = await passwordFrom(ctx);
    const member = await oauthServices(rt).members.reset(ctx.positionals[0]!, tenantFlag(ctx), given);
    const human = [`New password for ${member.email} (${member.tenant_id}); their connected apps were signed out.`];
    if (!given) human.push("", "Password (shown once):", `  ${member.password}`);
    ctx.out.result(human.join("\n"), given ? { ...member, password: undefined } : member);
  });

export const memberLink: Handler = (ctx) =>
  withRuntime(ctx, async (rt) => {
    const { member, secret, expires_at } = await oauthServices(rt).members.link(ctx.positionals[0]!, tenantFlag(ctx), durationsOf(rt.config).linkMs);
    const url = `${publicBaseUrl(rt.config)}${oauthPaths.link}?t=${secret}`;
    ctx.out.result([`One-time sign-in link for ${member.email} (${member.tenant_id}), valid until ${expires_at}:`, `  ${url}`].join("\n"), { email: member.email, tenant_id: member.tenant_id, url, expires_at });
  });

export const memberTotp: Handler = (ctx) =>
  withRuntime(ctx, async (rt) => {
    const off = Boolean(ctx.values.off);
    const { member, secret } = await oauthServices(rt).members.setTotp(ctx.positionals[0]!, tenantFlag(ctx), !off);
    if (!secret) return ctx.out.result(`Second factor turned off for ${member.email} (${member.tenant_id}).`, { ...member, totp: false });
    const uri = otpauthUri(secret, member.email);
    const human = [`Second factor on for ${member.email} (${member.tenant_id}): sign-in now also asks for a 6-digit code.`, "", "Add this to the member's authenticator app (shown once):", `  secret: ${secret}`, `  ${uri}`].join("\n");
    ctx.out.result(human, { ...member, totp: true, secret, otpauth_uri: uri });
  });
