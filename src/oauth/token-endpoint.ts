/** POST /oauth/token (authorization_code with PKCE, refresh_token with rotation) and POST /oauth/revoke (RFC 7009). */
import { serverActor } from "../audit/actor.ts";
import type { Context } from "hono";
import { Hono } from "hono";
import { decodeJwt } from "jose";
import { AppError } from "../errors.ts";
import { issueAccessToken } from "./access-tokens.ts";
import type { AuthorizationServer } from "./authorization-server.ts";
import { OAuthError } from "./grants.ts";
import { oauthPaths } from "./settings.ts";
import { pkceMatches } from "./secrets.ts";

const noStore = { "cache-control": "no-store", pragma: "no-cache" };

export const oauthError = (c: Context, error: OAuthError) =>
  c.json({ error: error.error, error_description: error.description }, error.status as 400, { ...noStore, ...(error.status === 401 ? { "www-authenticate": 'Basic realm="mcp-mt"' } : {}) });

/** The form body, whatever the client sent (a JSON body is accepted too: some clients send one). */
async function formOf(c: Context): Promise<Record<string, string>> {
  const type = c.req.header("content-type") ?? "";
  let values: Record<string, unknown> = {};
  try {
    if (type.includes("application/json")) values = (await c.req.json()) as Record<string, unknown>;
    else values = (await c.req.parseBody()) as Record<string, unknown>;
  } catch {
    throw new OAuthError("invalid_request", "the body is not a form (application/x-www-form-urlencoded)");
  }
  const form: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (typeof v === "string") form[k] = v;
  // Public clients may still send client_secret_basic with an empty secret: take the id from there.
  const basic = /^Basic\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  if (basic && !form.client_id) {
    const decoded = Buffer.from(basic[1]!, "base64").toString();
    form.client_id = decodeURIComponent(decoded.slice(0, decoded.indexOf(":") >>> 0));
  }
  return form;
}

export function tokenRoutes(as: AuthorizationServer): Hono {
  const routes = new Hono();

  const tokensFor = async (grant: { id: string; tenantId: string; subject: string; clientId: string; scopes: string[] }, refreshToken: string, scopes = grant.scopes) => {
    const tenant = await as.tenants.find(grant.tenantId);
    if (!tenant) throw new OAuthError("invalid_grant", "the tenant no longer exists");
    if (tenant.status === "suspended") throw new OAuthError("invalid_grant", `tenant ${tenant.id} is suspended`);
    try {
      await as.grants.assertSigner(grant.subject, grant.tenantId);
    } catch (error) {
      throw new OAuthError("invalid_grant", error instanceof AppError ? error.message.replace(/^invalid token: /, "") : "the grant no longer stands");
    }
    const accessToken = await issueAccessToken(as.keys, { tenantId: grant.tenantId, subject: grant.subject, clientId: grant.clientId, scopes, grantId: grant.id, issuer: as.issuer(), audience: as.resource(), ttlMs: as.durations.accessMs, now: as.clock() });
    return { access_token: accessToken, token_type: "Bearer", expires_in: Math.floor(as.durations.accessMs / 1000), refresh_token: refreshToken, scope: scopes.join(" ") };
  };

  const checkResource = (resource: string | undefined) => {
    if (resource !== undefined && resource !== as.resource()) throw new OAuthError("invalid_target", `this server issues tokens only for ${as.resource()}`);
  };

  routes.post(oauthPaths.token, async (c) => {
    try {
      const form = await formOf(c);
      if (!form.client_id) throw new OAuthError("invalid_client", "client_id is required", 401);
      checkResource(form.resource);
      if (form.grant_type === "authorization_code") {
        if (!form.code || !form.code_verifier || !form.redirect_uri) throw new OAuthError("invalid_request", "code, code_verifier and redirect_uri are required");
        const redeemed = await as.codes.redeem(form.code);
        if (redeemed === null) throw new OAuthError("invalid_grant", "unknown or expired authorization code");
        if ("reused" in redeemed) {
          // A code presented twice was intercepted: what it granted is revoked (OAuth 2.1 §4.1.3).
          if (redeemed.reused) await as.grants.revoke(redeemed.reused, "authorization code reused", serverActor).catch(() => undefined);
          throw new OAuthError("invalid_grant", "authorization code already used; the tokens issued for it are revoked");
        }
        const { grant } = redeemed;
        if (grant.clientId !== form.client_id) throw new OAuthError("invalid_grant", "the code was issued to another client");
        if (grant.redirectUri !== form.redirect_uri) throw new OAuthError("invalid_grant", "redirect_uri differs from the one sent to /authorize");
        if (!pkceMatches(form.code_verifier, grant.codeChallenge)) throw new OAuthError("invalid_grant", "code_verifier does not match the code_challenge (PKCE S256)");
        if (form.resource !== undefined && form.resource !== grant.resource) throw new OAuthError("invalid_target", "resource differs from the one authorized");
        const { row, refreshToken } = await as.grants.create({ tenantId: grant.tenantId, subject: grant.subject, clientId: grant.clientId, clientName: grant.clientName, scopes: grant.scopes, resource: grant.resource });
        await redeemed.bind(row.id);
        await as.clients.markUsed(grant.clientId);
        return c.json(await tokensFor(row, refreshToken), 200, noStore);
      }
      if (form.grant_type === "refresh_token") {
        if (!form.refresh_token) throw new OAuthError("invalid_request", "refresh_token is required");
        const { row, refreshToken } = await as.grants.refresh(form.refresh_token, form.client_id);
        let scopes = row.scopes;
        if (form.scope) {
          const asked = form.scope.split(" ").filter(Boolean);
          if (asked.some((s) => !row.scopes.includes(s))) throw new OAuthError("invalid_scope", `a refresh may only narrow the grant (${row.scopes.join(" ")})`);
          scopes = asked;
        }
        return c.json(await tokensFor(row, refreshToken, scopes), 200, noStore);
      }
      throw new OAuthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token");
    } catch (error) {
      if (error instanceof OAuthError) return oauthError(c, error);
      throw error;
    }
  });

  // RFC 7009: always 200 for a well-formed request, whether or not the token was valid.
  routes.post(oauthPaths.revoke, async (c) => {
    let form: Record<string, string>;
    try {
      form = await formOf(c);
    } catch (error) {
      if (error instanceof OAuthError) return oauthError(c, error);
      throw error;
    }
    if (!form.token) return oauthError(c, new OAuthError("invalid_request", "token is required"));
    const clientId = form.client_id || null;
    if (form.token.startsWith("mcpmt_rt_")) await as.grants.revokeByToken(form.token, clientId);
    else {
      try {
        const claims = decodeJwt(form.token);
        // Only the signature-checked form matters for access; revoking needs the grant id and the client to match.
        await as.ownTokens.verifier().verify(form.token);
        if (typeof claims.gid === "string" && (clientId === null || claims.client_id === clientId)) await as.grants.revoke(claims.gid, "revoked by the client", serverActor);
      } catch {
        // Unknown, expired or foreign tokens: nothing to revoke.
      }
    }
    return c.body(null, 200, noStore);
  });

  return routes;
}

