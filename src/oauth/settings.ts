/** Whether the built-in authorization server runs, and the URLs it names itself by. */
import type { Config } from "../config/schema.ts";
import { mcpEndpoint, publicBaseUrl } from "../config/urls.ts";
import { parseDuration } from "../duration.ts";
import { isLoopbackBind } from "../http/middleware/origin-guard.ts";
import { allScopes } from "../auth/scopes.ts";

/**
 * auto: on when the issuer URL is trustworthy (server.public_url set, or a loopback bind for local use) and no
 * external identity provider is configured (auth.jwt), which then stays the one clients are sent to.
 */
export function oauthEnabled(config: Config): boolean {
  const mode = config.auth.oauth.enabled;
  if (mode !== "auto") return mode === "on";
  const jwt = config.auth.jwt;
  const external = Boolean(jwt.secret || jwt.secret_file || jwt.jwks_url || jwt.jwks_file);
  return !external && (Boolean(config.server.public_url) || isLoopbackBind(config.server.host));
}

export const oauthPaths = {
  metadata: "/.well-known/oauth-authorization-server",
  jwks: "/oauth/jwks",
  register: "/oauth/register",
  authorize: "/oauth/authorize",
  signIn: "/oauth/sign-in",
  consent: "/oauth/consent",
  token: "/oauth/token",
  revoke: "/oauth/revoke",
  apps: "/oauth/apps",
  link: "/oauth/link",
  signOut: "/oauth/sign-out",
} as const;

/** The issuer: this server's base URL (read when used: the port may be chosen at listen time). */
export const issuerOf = (config: Config) => publicBaseUrl(config);
/** The one resource our tokens are for (RFC 8707). */
export const resourceOf = (config: Config) => mcpEndpoint(config);

/** RFC 8414 authorization server metadata. */
export function authorizationServerMetadata(config: Config): Record<string, unknown> {
  const base = issuerOf(config);
  const o = config.auth.oauth;
  return {
    issuer: base,
    authorization_endpoint: `${base}${oauthPaths.authorize}`,
    token_endpoint: `${base}${oauthPaths.token}`,
    revocation_endpoint: `${base}${oauthPaths.revoke}`,
    jwks_uri: `${base}${oauthPaths.jwks}`,
    ...(o.dcr ? { registration_endpoint: `${base}${oauthPaths.register}` } : {}),
    scopes_supported: [...allScopes],
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    token_endpoint_auth_methods_supported: ["none"],
    revocation_endpoint_auth_methods_supported: ["none"],
    code_challenge_methods_supported: ["S256"],
    authorization_response_iss_parameter_supported: true,
    client_id_metadata_document_supported: o.cimd,
    service_documentation: `${base}/`,
  };
}

export type OAuthDurations = { accessMs: number; refreshMs: number; codeMs: number; sessionMs: number; graceMs: number; unusedClientMs: number; linkMs: number };

export function durationsOf(config: Config): OAuthDurations {
  const o = config.auth.oauth;
  return {
    accessMs: parseDuration(o.access_token_ttl, "auth.oauth.access_token_ttl"),
    refreshMs: parseDuration(o.refresh_token_ttl, "auth.oauth.refresh_token_ttl"),
    codeMs: o.code_ttl_seconds * 1000,
    sessionMs: parseDuration(o.session_ttl, "auth.oauth.session_ttl"),
    graceMs: parseDuration(o.key_grace, "auth.oauth.key_grace"),
    unusedClientMs: parseDuration(o.unused_client_ttl, "auth.oauth.unused_client_ttl"),
    linkMs: parseDuration(o.link_ttl, "auth.oauth.link_ttl"),
  };
}
