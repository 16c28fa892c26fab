/**
 * MCP over stdio for local clients: authenticates once at start (an API key, or an operator naming a tenant
 * on the host), then serves the same tools as HTTP. stdout carries only protocol messages; logs go to stderr.
 */
import { serveStdio, StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import { Authenticator, type Authenticated } from "../auth/authenticate.ts";
import { JwtVerifier } from "../auth/jwt.ts";
import { allScopes } from "../auth/scopes.ts";
import { AppError, notFound } from "../errors.ts";
import { createLogger } from "../log.ts";
import type { Runtime } from "../runtime.ts";
import { createTenantContext } from "../tenancy/tenant-context.ts";
import { effectivePlan } from "../limits/plan.ts";
import { createLimits } from "../limits/setup.ts";
import { AdmittingTransport } from "./admitting-transport.ts";
import { buildCatalogue, buildServer } from "./server.ts";

export type StdioCredential = { apiKey: string } | { tenantId: string };

/** Serves until stdin closes; resolves with the exit code. */
export async function serveStdioSession(runtime: Runtime, credential: StdioCredential): Promise<number> {
  const log = createLogger(runtime.config.log, { transport: "stdio" });
  const authenticator = new Authenticator({ keys: runtime.keys, tenants: runtime.tenants, clock: runtime.clock, jwt: JwtVerifier.fromConfig(runtime.config) });
  const auth = await authenticateOnce(runtime, authenticator, credential);
  await authenticator.flushUsage();
  const catalogue = buildCatalogue(runtime.config, runtime.clock);
  log.info("stdio session started", { tenant: auth.tenant.id, subject: auth.principal.subject });
  const limits = createLimits(runtime, log);
  const plan = effectivePlan(runtime.config, auth.tenant);
  const ctx = createTenantContext({
    runtime,
    auth,
    plan,
    meter: limits.meter,
    requestId: `stdio-${crypto.randomUUID()}`,
    signal: new AbortController().signal,
    log: () => log,
    client: () => "stdio",
  });
  const closed = new Promise<void>((resolve) => {
    process.stdin.once("end", resolve);
    process.stdin.once("close", resolve);
  });
  const stdio = new StdioServerTransport();
  const transport = runtime.config.limits.enabled ? new AdmittingTransport(stdio, limits.admission, () => auth.tenant, auth.principal.scopes) : stdio;
  const handle = serveStdio(() => buildServer(catalogue, () => ctx, ctx.principal.scopes), { transport, onerror: (error) => log.warn("stdio transport error", { error: error.message }) });
  await closed;
  await handle.close();
  log.info("stdio session ended");
  await limits.close();
  return 0;
}

async function authenticateOnce(runtime: Runtime, authenticator: Authenticator, credential: StdioCredential): Promise<Authenticated> {
  if ("apiKey" in credential) {
    return authenticator.authenticate(credential.apiKey.trim());
  }
  // An operator on the host already has the files; --tenant only saves them a key.
  const tenant = await runtime.tenants.find(credential.tenantId);
  if (!tenant) throw notFound(`tenant ${credential.tenantId} does not exist`);
  if (tenant.status === "suspended") throw new AppError("tenant_suspended", `tenant ${tenant.id} is suspended`);
  return { tenant, principal: { tenantId: tenant.id, subject: "operator", kind: "operator", scopes: [...allScopes] } };
}
