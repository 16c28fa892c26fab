/**
 * JWT bearer tokens (OAuth 2.1 resource server): a shared HS256 secret or your identity provider's JWKS.
 * Always checks issuer, audience, the pinned algorithms and `exp`; keys named in token headers
 * (jku, x5u, jwk) are never used: only the configured secret or JWKS can verify.
 */
import { readSecretFile } from "../config/secret-file.ts";
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { Config } from "../config/schema.ts";
import { mcpEndpoint } from "../config/urls.ts";
import { AppError } from "../errors.ts";
import { allScopes, type Scope } from "./scopes.ts";

export type VerifiedToken = { tenantId: string; subject: string; scopes: Scope[]; expiresAt: number; claims: JWTPayload };

type VerifierOptions = { issuer: string; audience: () => string; algorithms: string[]; clockTolerance: number; tenantClaim: string; scopeClaim: string };

type Key = Uint8Array | JWTVerifyGetKey;

/** Looks like a compact JWS (three base64url parts), as opposed to an mcp-mt API key. */
export const looksLikeJwt = (token: string) => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);

export class JwtVerifier {
  readonly #key: Key;
  readonly #options: { issuer: string; algorithms: string[]; clockTolerance: number; requiredClaims: string[] };
  readonly #audience: () => string;
  readonly #tenantClaim: string;
  readonly #scopeClaim: string;
  readonly secret: Uint8Array | undefined;

  private constructor(key: Key, secret: Uint8Array | undefined, options: VerifierOptions) {
    this.#key = key;
    this.secret = secret;
    this.#options = { issuer: options.issuer, algorithms: options.algorithms, clockTolerance: options.clockTolerance, requiredClaims: ["exp"] };
    this.#audience = options.audience;
    this.#tenantClaim = options.tenantClaim;
    this.#scopeClaim = options.scopeClaim;
  }

  static #configured(key: Key, secret: Uint8Array | undefined, config: Config): JwtVerifier {
    const jwt = config.auth.jwt;
    const algorithms = jwt.algorithms.length ? jwt.algorithms : secret ? ["HS256"] : ["RS256", "ES256", "EdDSA"];
    // The configured audience, else this server's MCP resource URL (read when used: the port may be chosen at listen time).
    const audience = () => config.auth.jwt.audience || mcpEndpoint(config);
    return new JwtVerifier(key, secret, { issuer: jwt.issuer, audience, algorithms, clockTolerance: jwt.clock_tolerance, tenantClaim: jwt.tenant_claim, scopeClaim: jwt.scope_claim });
  }

  /** A verifier for tokens this server issues itself (the built-in authorization server): same checks, its own key set. */
  static forOwnIssuer(options: { issuer: () => string; audience: () => string; keys: JWTVerifyGetKey; algorithm: string }): { verifier: () => JwtVerifier } {
    let cached: JwtVerifier | null = null;
    return {
      // The issuer URL may only be known once the port is chosen, so the verifier is built on first use.
      verifier: () => {
        const issuer = options.issuer();
        if (cached?.issuer !== issuer) cached = new JwtVerifier(options.keys, undefined, { issuer, audience: options.audience, algorithms: [options.algorithm], clockTolerance: 5, tenantClaim: "tenant_id", scopeClaim: "scope" });
        return cached;
      },
    };
  }

  get issuer(): string {
    return this.#options.issuer;
  }

  get audience(): string {
    return this.#audience();
  }

  /** A verifier when JWT is configured, else null. Throws config_invalid on an incomplete setup. */
  static fromConfig(config: Config): JwtVerifier | null {
    const jwt = config.auth.jwt;
    const sources = [jwt.secret, jwt.secret_file, jwt.jwks_url, jwt.jwks_file].filter(Boolean).length;
    if (sources === 0) return null;
    if (sources > 1) throw new AppError("config_invalid", "auth.jwt: set exactly one of secret (env), secret_file, jwks_url, jwks_file");
    if (!jwt.issuer) throw new AppError("config_invalid", "auth.jwt.issuer is required when JWT is enabled");
    if (jwt.secret || jwt.secret_file) {
      const text = jwt.secret || readSecretFile(jwt.secret_file, "auth.jwt.secret_file");
      const secret = new TextEncoder().encode(text);
      if (secret.length < 32) throw new AppError("config_invalid", "auth.jwt secret must be at least 32 bytes");
      if (jwt.algorithms.some((a) => !a.startsWith("HS"))) throw new AppError("config_invalid", "auth.jwt.algorithms: a shared secret only verifies HS256/HS384/HS512");
      return JwtVerifier.#configured(secret, secret, config);
    }
    if (jwt.algorithms.some((a) => a.startsWith("HS"))) throw new AppError("config_invalid", "auth.jwt.algorithms: HS* needs a shared secret, not a JWKS");
    if (jwt.jwks_file) {
      let set: Parameters<typeof createLocalJWKSet>[0];
      try {
        set = JSON.parse(readSecretFile(jwt.jwks_file, "auth.jwt.jwks_file"));
      } catch {
        throw new AppError("config_invalid", `auth.jwt.jwks_file ${jwt.jwks_file} is not a readable JWKS`);
      }
      return JwtVerifier.#configured(createLocalJWKSet(set), undefined, config);
    }
    // Cached; refetched at most every 30 s for an unknown kid; each fetch time-boxed.
    const remote = createRemoteJWKSet(new URL(jwt.jwks_url), { timeoutDuration: 3_000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    return JwtVerifier.#configured(remote, undefined, config);
  }

  /** Verifies a token; throws AppError("unauthorized") with a reason safe to show. */
  async verify(token: string): Promise<VerifiedToken> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#key as never, { ...this.#options, audience: this.audience }));
    } catch (error) {
      throw new AppError("unauthorized", `invalid token: ${reason(error)}`);
    }
    const tenantId = payload[this.#tenantClaim];
    if (typeof tenantId !== "string" || !tenantId) throw new AppError("unauthorized", `invalid token: no ${this.#tenantClaim} claim`);
    return { tenantId, subject: typeof payload.sub === "string" ? payload.sub : "unknown", scopes: scopesOf(payload, this.#scopeClaim), expiresAt: (payload.exp ?? 0) * 1000, claims: payload };
  }

  /** Issues an HS256 token (for setups without an identity provider). */
  async issue(options: { tenantId: string; subject: string; scopes: Scope[]; ttlSeconds: number }): Promise<string> {
    if (!this.secret) throw new AppError("invalid_input", "token issue needs a shared secret (MCP_MT_AUTH_JWT_SECRET or auth.jwt.secret_file)");
    return new SignJWT({ [this.#tenantClaim]: options.tenantId, [this.#scopeClaim]: options.scopes.join(" ") })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(this.#options.issuer)
      .setAudience(this.audience)
      .setSubject(options.subject)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + options.ttlSeconds)
      .sign(this.secret);
  }
}


function scopesOf(payload: JWTPayload, claim: string): Scope[] {
  const raw = payload[claim] ?? payload.scp ?? payload.scopes;
  const names = typeof raw === "string" ? raw.split(" ") : Array.isArray(raw) ? raw.filter((s): s is string => typeof s === "string") : [];
  return names.filter((name): name is Scope => (allScopes as readonly string[]).includes(name));
}

function reason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JWTClaimValidationFailed) return `${error.claim} claim ${error.reason === "missing" ? "missing" : "check failed"}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return "algorithm not allowed";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "signature verification failed";
  if (error instanceof errors.JWKSNoMatchingKey) return "no matching key";
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return "malformed";
  if (error instanceof errors.JWKSTimeout) return "key set unavailable";
  return "rejected";
}
