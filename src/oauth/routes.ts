/** Every route of the built-in authorization server, mounted by the HTTP app when auth.oauth is on. */
import type { Context } from "hono";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AuthorizationServer } from "./authorization-server.ts";
import { browserRoutes } from "./browser-routes.tsx";
import { publicRoutes } from "./registration-endpoint.ts";
import { tokenRoutes } from "./token-endpoint.ts";

/** Forms and registrations are small; nothing larger is buffered (the server itself sets no body limit). */
export const maxOAuthBodyBytes = 64 * 1024;

export function oauthRoutes(as: AuthorizationServer, clientAddress: (c: Context) => string): Hono {
  const routes = new Hono();
  const limit = bodyLimit({ maxSize: maxOAuthBodyBytes, onError: (c) => c.json({ error: "invalid_request", error_description: `the body is larger than ${maxOAuthBodyBytes} bytes` }, 413) });
  routes.post("/oauth/*", limit);
  routes.route("/", publicRoutes(as, clientAddress));
  routes.route("/", tokenRoutes(as));
  routes.route("/", browserRoutes(as, clientAddress));
  return routes;
}
