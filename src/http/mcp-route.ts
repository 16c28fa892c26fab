/**
 * POST /mcp for both protocol eras, statelessly: 2026-07-28 requests go to the SDK's per-request handler,
 * 2025-era requests to a stateless Streamable HTTP transport answering plain JSON. Each request runs inside
 * its tenant context (its store bound to the request's deadline), under the plan's request_timeout_ms.
 */
import { createMcpHandler, WebStandardStreamableHTTPServerTransport, type AuthInfo } from "@modelcontextprotocol/server";
import type { Handler } from "hono";
import type { Logger } from "../log.ts";
import type { UsageMeter } from "../metering/usage-meter.ts";
import { ServerPool } from "../mcp/server-pool.ts";
import { buildServer, type Catalogue } from "../mcp/server.ts";
import type { Services } from "../services.ts";
import type { TenantContext } from "../tenancy/context.ts";
import { createTenantContext } from "../tenancy/tenant-context.ts";
import type { AppEnv } from "./env.ts";
import { rpcCodes, rpcErrorResponse } from "./jsonrpc.ts";

type Deps = { services: Pick<Services, "config" | "control" | "storage" | "audit">; catalogue: Catalogue; log: Logger; meter: UsageMeter };

const contextOf = (authInfo: AuthInfo | undefined): TenantContext => (authInfo?.extra as { tenant: TenantContext }).tenant;

export function mcpRoute({ services, catalogue, log, meter }: Deps): Handler<AppEnv> {
  const onerror = (error: Error) => log.warn("mcp transport error", { error: error.message });
  const pool = new ServerPool(catalogue);
  const modern = createMcpHandler((sdk) => pool.take(contextOf(sdk.authInfo), "modern"), { legacy: "reject", responseMode: "json", onerror });

  async function legacy(request: Request, parsedBody: unknown, authInfo: AuthInfo, method: string | null): Promise<Response> {
    const ctx = contextOf(authInfo);
    // initialize leaves client state in the instance: it gets a fresh one, never a pooled one.
    const server = method === "initialize" ? buildServer(catalogue, () => ctx, ctx.principal.scopes) : pool.take(ctx, "legacy");
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(request, { parsedBody, authInfo });
    } finally {
      void transport.close();
    }
  }

  return async (c) => {
    const auth = c.get("auth");
    const { principal, tenant } = auth;
    const plan = c.get("plan");
    const timeoutMs = Math.min(plan.request_timeout_ms, services.config.server.request_timeout_ms);
    const rpc = c.get("rpc");
    const requestId = c.get("requestId");
    const request = c.req.raw;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`request timed out after ${timeoutMs} ms`)), timeoutMs);
    request.signal.addEventListener("abort", () => deadline.abort(new Error("the client went away")), { once: true });
    try {
      const ctx = createTenantContext({
        services,
        auth,
        plan,
        meter,
        requestId,
        signal: deadline.signal,
        log: () => log.child({ request_id: requestId, tenant: tenant.id }),
        client: c.get("client"),
      });
      const authInfo: AuthInfo = { token: principal.subject, clientId: principal.subject, scopes: principal.scopes, extra: { tenant: ctx } };
      // The body's envelope claim (or a 2026 protocol header) marks the 2026-07-28 era; anything else is 2025-era.
      const work = isModern(request, rpc.era) ? modern.fetch(request, { parsedBody: rpc.body, authInfo }) : legacy(request, rpc.body, authInfo, rpc.method);
      const timedOut = new Promise<Response>((resolve) =>
        deadline.signal.addEventListener("abort", () =>
          resolve(rpcErrorResponse(504, rpcCodes.timeout, `Request timed out after ${timeoutMs} ms (the plan's request_timeout_ms); the operation was cancelled`, { id: rpc.id })),
        ),
      );
      return await Promise.race([work, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };
}

const modernVersion = "2026-07-28";

function isModern(request: Request, era: string): boolean {
  if (era === modernVersion) return true;
  const header = request.headers.get("mcp-protocol-version");
  return header !== null && header >= modernVersion;
}
