/** POST /oauth/register (RFC 7591), the metadata (RFC 8414), the JWKS and the stylesheet. */
import type { Context } from "hono";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { AppError } from "../errors.ts";
import type { AuthorizationServer } from "./authorization-server.ts";
import { stylesheet } from "./pages/style.ts";
import { authorizationServerMetadata, oauthPaths } from "./settings.ts";

export function publicRoutes(as: AuthorizationServer, clientAddress: (c: Context) => string): Hono {
  const routes = new Hono();
  const { config } = as;
  // Browser-based clients call these machine endpoints from their own origin; none of them reads a cookie, so
  // any origin may (the Host/Origin check before them still applies).
  const machine = cors({ origin: "*", allowMethods: ["GET", "POST", "OPTIONS"], allowHeaders: ["content-type", "authorization", "mcp-protocol-version"], maxAge: 600 });
  for (const path of [oauthPaths.metadata, oauthPaths.jwks, oauthPaths.register, oauthPaths.token, oauthPaths.revoke]) routes.use(path, machine);

  routes.get(oauthPaths.metadata, (c) => c.json(authorizationServerMetadata(config)));
  routes.get(oauthPaths.jwks, (c) => c.json(as.keys.jwks(), 200, { "cache-control": "public, max-age=300" }));
  routes.get("/oauth/style.css", (c) => c.body(stylesheet, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=3600" }));

  routes.post(oauthPaths.register, async (c) => {
    if (!config.auth.oauth.dcr) return c.json({ error: "invalid_request", error_description: "dynamic client registration is turned off on this server; ask the operator for a client id (mcp-mt oauth client add)" }, 403);
    const decision = as.limiter.consumeNow(`dcr:${clientAddress(c)}`, config.auth.oauth.dcr_per_hour, 3_600_000, 1);
    if (!decision.admitted) {
      const retry = String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
      return c.json({ error: "invalid_request", error_description: `too many registrations from this address; retry after ${retry} s` }, 429, { "retry-after": retry });
    }
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: "invalid_client_metadata", error_description: "the body must be a JSON object of client metadata" }, 400);
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) return c.json({ error: "invalid_client_metadata", error_description: "the body must be a JSON object" }, 400);
    try {
      return c.json(await as.clients.register(body as Record<string, unknown>), 201, { "cache-control": "no-store" });
    } catch (error) {
      if (error instanceof AppError && error.code === "rate_limited") return c.json({ error: "invalid_request", error_description: error.message }, 429, { "retry-after": "3600" });
      if (error instanceof AppError && error.code === "invalid_input") {
        return c.json({ error: error.message.startsWith("redirect_uri") ? "invalid_redirect_uri" : "invalid_client_metadata", error_description: error.message }, 400);
      }
      throw error;
    }
  });
  return routes;
}
