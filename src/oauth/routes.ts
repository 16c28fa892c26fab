/** Every route of the built-in authorization server, mounted by the HTTP app when auth.oauth is on. */
import type { Context } from "hono";
import { Hono } from "hono";
import type { AuthorizationServer } from "./authorization-server.ts";
import { browserRoutes } from "./browser-routes.tsx";
import { publicRoutes } from "./registration-endpoint.ts";
import { tokenRoutes } from "./token-endpoint.ts";

export function oauthRoutes(as: AuthorizationServer, clientAddress: (c: Context) => string): Hono {
  const routes = new Hono();
  routes.route("/", publicRoutes(as, clientAddress));
  routes.route("/", tokenRoutes(as));
  routes.route("/", browserRoutes(as, clientAddress));
  return routes;
}
