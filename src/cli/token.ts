/** `mcp-mt token issue`: an HS256 token for setups without an identity provider; prints the token alone. */
import { JwtVerifier } from "../auth/jwt.ts";
import { allScopes, parseScopes } from "../auth/scopes.ts";
import { parseDuration } from "../duration.ts";
import { AppError, invalidInput } from "../errors.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { str, withRuntime } from "./context.ts";
import type { Handler } from "./spec.ts";

export const tokenIssue: Handler = (ctx) => {
  const tenant = assertTenantId(ctx.positionals[0]);
  return withRuntime(ctx, async (rt) => {
    const verifier = JwtVerifier.fromConfig(rt.config);
    if (!verifier?.secret) throw new AppError("config_invalid", "token issue needs [auth.jwt] with a shared secret (MCP_MT_AUTH_JWT_SECRET or auth.jwt.secret_file) and an issuer");
    await rt.tenants.get(tenant);
    const ttlMs = parseDuration(str(ctx, "ttl") ?? "1h", "--ttl");
    if (ttlMs > 366 * 86_400_000) throw invalidInput("--ttl must be at most a year");
    const scopes = str(ctx, "scopes") !== undefined ? parseScopes(str(ctx, "scopes")!) : [...allScopes];
    const token = await verifier.issue({ tenantId: tenant, subject: str(ctx, "subject") ?? `operator-issued:${tenant}`, scopes, ttlSeconds: Math.ceil(ttlMs / 1000) });
    process.stdout.write(`${token}\n`);
  });
};
