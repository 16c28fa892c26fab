/** Short-lived access tokens: ES256 JWTs bound to this server's MCP resource, naming tenant, subject, client, scopes and grant. */
import { SignJWT } from "jose";
import { randomToken } from "./secrets.ts";
import { signingAlgorithm, type SigningKeys } from "./signing-keys.ts";

export type AccessTokenClaims = { tenantId: string; subject: string; clientId: string; scopes: string[]; grantId: string };

export async function issueAccessToken(keys: SigningKeys, options: AccessTokenClaims & { issuer: string; audience: string; ttlMs: number; now: number }): Promise<string> {
  const { kid, key } = await keys.signer();
  const now = Math.floor(options.now / 1000);
  return new SignJWT({ tenant_id: options.tenantId, scope: options.scopes.join(" "), client_id: options.clientId, gid: options.grantId })
    .setProtectedHeader({ alg: signingAlgorithm, kid, typ: "at+jwt" })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(options.subject)
    .setIssuedAt(now)
    .setJti(randomToken(12))
    .setExpirationTime(now + Math.floor(options.ttlMs / 1000))
    .sign(key);
}
