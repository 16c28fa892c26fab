/** The hono app: ONE ordered middleware list; read top to bottom, it is the whole request pipeline. */
import { Hono, type ErrorHandler } from "hono";
import { requestId } from "hono/request-id";
import type { Authenticator } from "../auth/authenticate.ts";
import { actorOf } from "../auth/principal.ts";
import type { Limits } from "../limits/setup.ts";
import type { Logger } from "../log.ts";
import type { LiveStats } from "../metering/live-stats.ts";
import { buildCatalogue } from "../mcp/server.ts";
import type { Config } from "../config/schema.ts";
import type { Services } from "../services.ts";
import type { AppEnv } from "./env.ts";
import { healthRoutes, type Readiness } from "./health.ts";
import { errorResponse } from "./jsonrpc.ts";
import { AppError } from "../errors.ts";
import { mcpRoute } from "./mcp-route.ts";
import { metricsRoutes } from "./metrics.ts";
import { accessLog } from "./middleware/access-log.ts";
import { admit, chargeRefusal, unlimited } from "./middleware/admit.ts";
import { authenticate } from "./middleware/authenticate.ts";
import { authorize } from "./middleware/authorize.ts";
import { challenges, wellKnownRoutes } from "./well-known.ts";
import { clientAddress } from "./client-address.ts";
import { originGuard } from "./middleware/origin-guard.ts";
import { clientClosedStatus, readBody } from "./middleware/read-body.ts";
import { requestGate } from "./middleware/request-gate.ts";
import { AuthFailureLimiter } from "./auth-failures.ts";
import type { AuthorizationServer } from "../oauth/authorization-server.ts";
import { oauthRoutes } from "../oauth/routes.ts";
import { securityHeaders } from "./middleware/security-headers.ts";

export type AppDeps = {
  /** The config as the server runs it (its real listen address: URLs in metadata and audiences name it). */
  config: Config;
  services: Pick<Services, "config" | "clock" | "control" | "storage" | "audit" | "migrations">;
  log: Logger;
  readiness: Readiness;
  authenticator: Authenticator;
  limits: Limits;
  stats: LiveStats;
  metricsToken?: string;
  oauth?: AuthorizationServer | null;
};

export function createApp({ config, services, log, readiness, authenticator, limits, stats, metricsToken, oauth }: AppDeps): Hono<AppEnv> {
  const catalogue = buildCatalogue(config, services.clock);
  const app = new Hono<AppEnv>();

  app.use("*", requestId({ headerName: "x-request-id" }));
  app.use("*", accessLog(log, stats));
  app.use("*", securityHeaders());
  app.use("*", originGuard(config));
  app.route("/", healthRoutes(services, readiness));
  app.route("/", wellKnownRoutes(config));
  if (oauth) app.route("/", oauthRoutes(oauth, clientAddress(config)));
  if (config.metrics.enabled) app.route("/", metricsRoutes({ config, stats, registry: services.storage, meter: limits.meter, audit: services.audit, token: metricsToken }, "public"));
  const challenge = challenges(config);
  const toolScopes = new Map(catalogue.tools.map((tool) => [tool.name, tool.scope]));
  const failures = new AuthFailureLimiter({ perMinute: config.limits.auth_failures_per_minute, globalPerMinute: config.limits.auth_failures_global_per_minute });

  // Refusals after authentication (403 scope, 403 suspended) cost units too: hammering them ends in 429.
  const chargeRefused = chargeRefusal(config.limits.enabled ? limits.admission : null);

  // Headers first: nothing of a request's body is read before its credential is verified.
  app.use("/mcp", requestGate({ maxBytes: config.server.max_body_bytes, readiness, clientAddress: clientAddress(config) }));
  app.use("/mcp", authenticate({ authenticator, failures, challenges: challenge, audit: services.audit, chargeRefused }));
  app.use("/mcp", readBody({ maxBytes: config.server.max_body_bytes, timeoutMs: config.server.body_timeout_ms, maxReadsPerAddress: config.server.max_body_reads_per_address }));
  app.use(
    "/mcp",
    authorize(toolScopes, challenge, (c, scope) => {
      const { principal, tenant } = c.get("auth");
      const rpc = c.get("rpc");
      // Never silent: a failed write is logged at error level and counted (services.audit.failures).
      services.audit.recordThrottled(`authz:${principal.subject}`, 60_000, { actor: actorOf(principal), tenantId: tenant.id, action: "authz.denied", target: rpc.tool ?? rpc.method, outcome: "denied", client: c.get("client")(), details: { required_scope: scope } });
    }, chargeRefused),
  );
  if (config.limits.enabled) app.use("/mcp", admit(limits.admission));
  else app.use("/mcp", unlimited(config));
  app.all("/mcp", mcpRoute({ services, catalogue, log, meter: limits.meter }));

  app.notFound((c) => c.json({ error: "not found", hint: "the MCP endpoint is POST /mcp" }, 404));
  app.onError(onAppError(log));
  return app;
}

/**
 * The one place an error thrown by a middleware or route meets HTTP: an AppError keeps its status, JSON-RPC
 * code and Retry-After (unavailable 503, storage_full 507, timeout 504, …); anything else is a logged 500.
 */
export function onAppError(log: Logger): ErrorHandler<AppEnv> {
  return (error, c) => {
    // A client that went away is not a server error: nobody receives the answer, and nothing needs fixing.
    if (c.req.raw.signal.aborted) {
      c.set("clientAborted", true);
      return new Response(null, { status: clientClosedStatus });
    }
    if (error instanceof AppError) {
      if (error.status >= 500) log.warn("request failed", { request_id: c.get("requestId"), code: error.code, error: error.message });
    } else log.error("unhandled error", { request_id: c.get("requestId"), error: error instanceof Error ? error.message : String(error) });
    return errorResponse(error, rpcIdOf(c), c.get("requestId"));
  };
}

/** The request's JSON-RPC id once its body was read, else null. */
function rpcIdOf(c: { get(key: "rpc"): unknown }): string | number | null {
  const rpc = c.get("rpc") as { id?: string | number | null } | undefined;
  return rpc?.id ?? null;
}
