/** OAuth 2.0 Protected Resource Metadata (RFC 9728) and the WWW-Authenticate challenges that point to it. */
import { Hono } from "hono";
import { allScopes } from "../auth/scopes.ts";
import type { Config } from "../config/schema.ts";
import { mcpEndpoint, publicBaseUrl } from "../config/urls.ts";
import { issuerOf, oauthEnabled } from "../oauth/settings.ts";

export const metadataPath = "/.well-known/oauth-protected-resource";

export type Challenges = {
  /** 401: no credential sent (no error=), or a bad one (error="invalid_token"). */
  unauthorized(description: string | null): string;
  /** 403: the credential lacks a scope. */
  insufficientScope(scope: string): string;
  /** Which credential the server expects, for 401 bodies. */
  expected: string;
};

/** The authorization servers clients are sent to: the built-in one when on, else the configured identity provider's. */
export function authorizationServers(config: Config): string[] {
  const jwt = config.auth.jwt;
  const external = jwt.authorization_servers.length ? jwt.authorization_servers : jwt.issuer ? [jwt.issuer] : [];
  return oauthEnabled(config) ? [issuerOf(config), ...external.filter((s) => s !== issuerOf(config))] : external;
}

/** Challenge builders; URLs are read when used, so a port chosen at listen time (port 0) is right. */
export function challenges(config: Config): Challenges {
  const metadataUrl = () => `${publicBaseUrl(config)}${metadataPath}/mcp`;
  const scope = allScopes.join(" ");
  const quote = (text: string) => text.replaceAll("\\", "").replaceAll('"', "'");
  // Without any authorization server, pointing clients at the metadata would start an OAuth flow that cannot
  // complete (registration 404s); the challenge then only says an API key is expected.
  const oauth = authorizationServers(config).length > 0;
  const pointer = () => (oauth ? `, resource_metadata="${metadataUrl()}"` : `, realm="mcp-mt"`);
  return {
    unauthorized: (description) =>
      description === null
        ? `Bearer ${oauth ? `resource_metadata="${metadataUrl()}", scope="${scope}"` : `realm="mcp-mt", error_description="send Authorization: Bearer <API key>"`}`
        : `Bearer error="invalid_token", error_description="${quote(description)}"${pointer()}${oauth ? `, scope="${scope}"` : ""}`,
    insufficientScope: (needed) => `Bearer error="insufficient_scope", scope="${needed}"${pointer()}, error_description="this credential lacks the ${needed} scope"`,
    expected: oauth ? "send Authorization: Bearer <API key or OAuth access token>; OAuth clients sign in through the authorization server in the resource metadata" : "send Authorization: Bearer <API key>",
  };
}

/** GET /.well-known/oauth-protected-resource[/mcp]. */
export function wellKnownRoutes(config: Config): Hono {
  const routes = new Hono();
  const body = () => ({
    resource: mcpEndpoint(config),
    authorization_servers: authorizationServers(config),
    scopes_supported: [...allScopes],
    bearer_methods_supported: ["header"],
    resource_name: "mcp-mt document store",
    resource_documentation: `${publicBaseUrl(config)}/`,
  });
  routes.get(metadataPath, (c) => c.json(body()));
  routes.get(`${metadataPath}/mcp`, (c) => c.json(body()));
  return routes;
}
