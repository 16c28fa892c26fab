/** OAuth 2.0 Protected Resource Metadata (RFC 9728) and the WWW-Authenticate challenges that point to it. */
import { Hono } from "hono";
import { allScopes } from "../auth/scopes.ts";
import type { Config } from "../config/schema.ts";
import { mcpEndpoint, publicBaseUrl } from "../config/urls.ts";

export const metadataPath = "/.well-known/oauth-protected-resource";

export type Challenges = {
  /** 401: no credential sent (no error=), or a bad one (error="invalid_token"). */
  unauthorized(description: string | null): string;
  /** 403: the credential lacks a scope. */
  insufficientScope(scope: string): string;
};

/** Challenge builders; URLs are read when used, so a port chosen at listen time (port 0) is right. */
export function challenges(config: Config): Challenges {
  const metadataUrl = () => `${publicBaseUrl(config)}${metadataPath}/mcp`;
  const scope = allScopes.join(" ");
  const quote = (text: string) => text.replaceAll("\\", "").replaceAll('"', "'");
  return {
    unauthorized: (description) =>
      description === null
        ? `Bearer resource_metadata="${metadataUrl()}", scope="${scope}"`
        : `Bearer error="invalid_token", error_description="${quote(description)}", resource_metadata="${metadataUrl()}", scope="${scope}"`,
    insufficientScope: (needed) => `Bearer error="insufficient_scope", scope="${needed}", resource_metadata="${metadataUrl()}", error_description="this credential lacks the ${needed} scope"`,
  };
}

/** GET /.well-known/oauth-protected-resource[/mcp]. */
export function wellKnownRoutes(config: Config): Hono {
  const routes = new Hono();
  const jwt = config.auth.jwt;
  const servers = jwt.authorization_servers.length ? jwt.authorization_servers : jwt.issuer ? [jwt.issuer] : [];
  const body = () => ({
    resource: mcpEndpoint(config),
    authorization_servers: servers,
    scopes_supported: [...allScopes],
    bearer_methods_supported: ["header"],
    resource_name: "mcp-mt document store",
    resource_documentation: `${publicBaseUrl(config)}/`,
  });
  routes.get(metadataPath, (c) => c.json(body()));
  routes.get(`${metadataPath}/mcp`, (c) => c.json(body()));
  return routes;
}
