/** `mcp-mt token issue`: an HS256 token for setups without an identity provider; prints the token alone. */
import { adminClient } from "../admin/client.ts";
import { JwtVerifier } from "../auth/jwt.ts";
import { allScopes, parseScopes } from "../auth/scopes.ts";
import type { Config } from "../config/schema.ts";
import { mcpEndpoint } from "../config/urls.ts";
import { parseDuration } from "../duration.ts";
import { AppError, invalidInput } from "../errors.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { str, withServices } from "./context.ts";
import type { CommandContext, Handler } from "./spec.ts";

/**
 * The audience the server checks: auth.jwt.audience when set, else its MCP URL. Flags (the same overrides
 * `serve` took) win; without them a running server is asked, since its port or host may differ from the config.
 */
async function audienceFor(ctx: CommandContext, config: Config): Promise<{ audience: string; from: string }> {
  const host = str(ctx, "host");
  const port = str(ctx, "port");
  const publicUrl = str(ctx, "public-url");
  if (config.auth.jwt.audience) return { audience: config.auth.jwt.audience, from: "auth.jwt.audience" };
  if (host !== undefined || port !== undefined || publicUrl !== undefined) {
    const n = port === undefined ? config.server.port : Number(port);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw invalidInput(`--port ${JSON.stringify(port)} is not a port number (1-65535)`);
    if (publicUrl !== undefined && !/^https?:\/\/[^/]+/.test(publicUrl)) throw invalidInput(`--public-url ${JSON.stringify(publicUrl)} must be an http(s) URL`);
    const server = { ...config.server, host: host ?? config.server.host, port: n, public_url: publicUrl ?? config.server.public_url };
    return { audience: mcpEndpoint({ ...config, server }), from: "the command-line flags" };
  }
  const client = adminClient(config);
  if (client) {
    const status = await client.call<{ jwt_audience?: string }>("GET", "/v1/status");
    if (status.jwt_audience) return { audience: status.jwt_audience, from: "the running server" };
  }
  return { audience: mcpEndpoint(config), from: "the configuration (no server running; pass --host/--port/--public-url if it will run elsewhere)" };
}

export const tokenIssue: Handler = (ctx) => {
  const tenant = assertTenantId(ctx.positionals[0]);
  return withServices(ctx, async (rt) => {
    if (!JwtVerifier.fromConfig(rt.config)?.secret) throw new AppError("config_invalid", "token issue needs [auth.jwt] with a shared secret (MCP_MT_AUTH_JWT_SECRET or auth.jwt.secret_file) and an issuer");
    await rt.tenants.get(tenant);
    const ttlMs = parseDuration(str(ctx, "ttl") ?? "1h", "--ttl");
    if (ttlMs > 366 * 86_400_000) throw invalidInput("--ttl must be at most a year");
    const scopes = str(ctx, "scopes") !== undefined ? parseScopes(str(ctx, "scopes")!) : [...allScopes];
    const { audience, from } = await audienceFor(ctx, rt.config);
    const verifier = JwtVerifier.fromConfig({ ...rt.config, auth: { ...rt.config.auth, jwt: { ...rt.config.auth.jwt, audience } } })!;
    const token = await verifier.issue({ tenantId: tenant, subject: str(ctx, "subject") ?? `operator-issued:${tenant}`, scopes, ttlSeconds: Math.ceil(ttlMs / 1000) });
    if (ctx.out.json) return void ctx.out.result("", { token, audience, audience_from: from, tenant, scopes, expires_in_s: Math.ceil(ttlMs / 1000) });
    // The token alone on stdout (for $(…)); what it is valid for on stderr.
    process.stdout.write(`${token}\n`);
    process.stderr.write(`audience (aud): ${audience}, from ${from}\n`);
  });
};
