/**
 * MCP over stdio for local clients (an API key, or an operator naming a tenant on the host). Every request
 * passes the same per-request gate as HTTP (stdio-gate.ts): re-authenticated, admitted against the tenant's
 * limits (through the running server when one serves this data directory, else in this process), run under
 * the plan's deadline, metered the same way. stdout carries only protocol messages; logs go to stderr.
 */
import { serveStdio, StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import { adminClient } from "../admin/client.ts";
import { Authenticator, type Authenticated } from "../auth/authenticate.ts";
import { JwtVerifier } from "../auth/jwt.ts";
import { allScopes, type Scope } from "../auth/scopes.ts";
import { AppError, notFound } from "../errors.ts";
import { RemoteAdmitter, type Admitter } from "../limits/gate.ts";
import { createLimits } from "../limits/setup.ts";
import type { Config } from "../config/schema.ts";
import { createLogger } from "../log.ts";
import type { Services } from "../services.ts";
import { createTenantContext } from "../tenancy/tenant-context.ts";
import { AdmittingTransport } from "./admitting-transport.ts";
import { buildCatalogue, buildServer, type HandlerExtra } from "./server.ts";
import { StdioGate } from "./stdio-gate.ts";

export type StdioCredential = { apiKey: string } | { tenantId: string };

/** How long an operator's `--tenant` lookup is reused, like the Authenticator's cache of a key. */
const operatorCacheMs = 1_000;

/** Serves until stdin closes; resolves with the exit code. */
export async function serveStdioSession(services: Services, credential: StdioCredential): Promise<number> {
  const { config } = services;
  const log = createLogger(config.log, { transport: "stdio" });
  const authenticator = new Authenticator({ keys: services.keys, tenants: services.tenants, clock: services.clock, jwt: JwtVerifier.fromConfig(config) });
  await services.control.onChange(() => authenticator.forget());
  const authenticate = "apiKey" in credential ? keyAuthentication(authenticator, credential.apiKey.trim()) : operatorAuthentication(services, credential.tenantId);
  // Fail fast on a bad credential: the client sees the process exit with the reason on stderr.
  const first = await authenticate();
  await authenticator.flushUsage();
  const usageFlush = setInterval(() => void authenticator.flushUsage().catch(() => undefined), 60_000);
  usageFlush.unref?.();
  const catalogue = buildCatalogue(config, services.clock);
  const limits = createLimits(services, log);
  const tools = new Map(catalogue.tools.map((tool) => [tool.name, tool]));
  const admitters = admitterFor(config, limits.admission, tools, (mode) => log.info("stdio admission", { via: mode }));
  const admitter = admitters.current;
  // Store calls' CPU time goes to the budget that admits this session's requests: the running server's when
  // there is one (one cpu_ms_per_minute per tenant across HTTP and stdio), else this process's.
  services.storage.observeBusy((tenant, ms) => (admitter() ?? limits.admission).chargeCpu(tenant, ms));
  log.info("stdio session started", { tenant: first.tenant.id, subject: first.principal.subject });

  const gate = new StdioGate({
    config,
    authenticate,
    admitter,
    toolScopes: new Map(catalogue.tools.map((tool) => [tool.name, tool.scope as Scope])),
    settled: admitters.flush,
    contextFor: (auth, plan, signal) => {
      const requestId = `stdio-${crypto.randomUUID()}`;
      return createTenantContext({ services, auth, plan, meter: limits.meter, requestId, signal, log: () => log.child({ request_id: requestId, tenant: auth.tenant.id }), client: () => "stdio" });
    },
  });
  const closed = new Promise<void>((resolve) => {
    process.stdin.once("end", resolve);
    process.stdin.once("close", resolve);
  });
  const transport = new AdmittingTransport(new StdioServerTransport(), gate, (error) => log.error("stdio request failed", { error: error instanceof Error ? error.message : String(error) }));
  const contextOf = (extra: HandlerExtra) => transport.contextOf(extra?.mcpReq?.id);
  const handle = serveStdio(() => buildServer(catalogue, contextOf, first.principal.scopes), { transport, onerror: (error) => log.warn("stdio transport error", { error: error.message }) });
  await closed;
  await handle.close();
  clearInterval(usageFlush);
  await authenticator.flushUsage().catch(() => undefined);
  await admitters.flush();
  log.info("stdio session ended");
  await limits.close();
  return 0;
}

/**
 * Per request: the running server's admission when one serves this data directory (one rate window, quota
 * and concurrency cap per tenant across HTTP and stdio), else this process's own. Null: limits disabled.
 */
function admitterFor(config: Config, local: Admitter, tools: ConstructorParameters<typeof RemoteAdmitter>[1], onSwitch: (mode: string) => void): { current(): Admitter | null; flush(): Promise<void> } {
  if (!config.limits.enabled) return { current: () => null, flush: async () => undefined };
  let mode = "";
  let remote: { socket: string; admitter: RemoteAdmitter } | null = null;
  const flush = async () => remote?.admitter.flushCpu();
  const current = () => {
    const client = adminClient(config);
    const next = client ? "server" : "in-process";
    if (next !== mode) onSwitch((mode = next));
    if (!client) return local;
    if (remote?.socket !== client.socket) remote = { socket: client.socket, admitter: new RemoteAdmitter(client.admission(), tools) };
    return fallBack(remote.admitter, local);
  };
  return { current, flush };
}

/** A server that stopped between the check and the call: this request is admitted in-process instead. */
function fallBack(remote: Admitter, local: Admitter): Admitter {
  const unavailable = (error: unknown) => error instanceof AppError && error.code === "unavailable";
  return {
    admit: (request) => remote.admit(request).catch((error) => (unavailable(error) ? local.admit(request) : Promise.reject(error))),
    chargeRefusal: (tenant, method, tool) => remote.chargeRefusal(tenant, method, tool).catch((error) => (unavailable(error) ? local.chargeRefusal(tenant, method, tool) : Promise.reject(error))),
    chargeCpu: (tenant, ms) => remote.chargeCpu(tenant, ms),
  };
}

/** An API key, verified through the Authenticator's cache of at most a second. */
const keyAuthentication = (authenticator: Authenticator, key: string) => () => authenticator.authenticate(key);

/** An operator on the host already has the files; --tenant only saves them a key. Re-read at most once a second. */
function operatorAuthentication(services: Pick<Services, "clock" | "tenants">, tenantId: string): () => Promise<Authenticated> {
  let cached: { value: Authenticated; until: number } | null = null;
  return async () => {
    const now = services.clock();
    if (!cached || cached.until <= now) {
      const tenant = await services.tenants.find(tenantId);
      if (!tenant) throw notFound(`tenant ${tenantId} does not exist`);
      cached = { value: { tenant, principal: { tenantId: tenant.id, subject: "operator", kind: "operator", scopes: [...allScopes] } }, until: now + operatorCacheMs };
    }
    const { tenant } = cached.value;
    if (tenant.status === "suspended") {
      const { id, plan, overrides } = tenant;
      throw new AppError("tenant_suspended", `tenant ${id} is suspended`, { details: { tenant: { id, plan, overrides } } });
    }
    return cached.value;
  };
}
