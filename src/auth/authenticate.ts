/**
 * Turns a presented credential into a principal and its tenant. Verified results are cached for at most
 * one second, so a revocation or suspension takes effect within a second in a running server.
 */
import { AppError } from "../errors.ts";
import type { TenantRow } from "../store/control/schema.ts";
import { monotonicNow, type MonotonicClock } from "../limits/monotonic-clock.ts";
import type { TenantService } from "../tenancy/tenants.ts";
import type { KeyService } from "./keys.ts";
import { decodeJwt } from "jose";
import { JwtVerifier, looksLikeJwt, type VerifiedToken } from "./jwt.ts";
import type { Principal } from "./principal.ts";
import type { Scope } from "./scopes.ts";

export type Authenticated = { principal: Principal; tenant: TenantRow };

/** The built-in authorization server's tokens: its verifier, and the check that the token's grant still stands. */
export type OwnTokens = { verifier(): JwtVerifier; check(token: VerifiedToken): Promise<void> };

const cacheTtlMs = 1_000;
const cacheMax = 10_000;

export class Authenticator {
  readonly #keys: KeyService;
  readonly #tenants: TenantService;
  readonly #clock: () => number;
  readonly #monotonic: MonotonicClock;
  /** `until` on the monotonic clock: a wall-clock step back must not keep a revoked key cached. */
  readonly #cache = new Map<string, { value: Authenticated; until: number }>();
  /** Key id → last time it was used, flushed to the control plane in batches. */
  #uses = new Map<string, number>();

  readonly #jwt: JwtVerifier | null;
  readonly #own: OwnTokens | null;

  /** `clock`: the wall clock (key expiry, last-use times); `monotonic`: the cache's second. */
  constructor(options: { keys: KeyService; tenants: TenantService; clock: () => number; monotonic?: MonotonicClock; jwt?: JwtVerifier | null; own?: OwnTokens | null }) {
    this.#keys = options.keys;
    this.#tenants = options.tenants;
    this.#clock = options.clock;
    this.#monotonic = options.monotonic ?? monotonicNow;
    this.#jwt = options.jwt ?? null;
    this.#own = options.own ?? null;
  }

  /** Throws unauthorized (401), tenant_suspended (403) or unavailable (503, Retry-After) while the tenant is being moved. */
  async authenticate(credential: string): Promise<Authenticated> {
    const now = this.#clock();
    const hit = this.#cache.get(credential);
    const result = hit && hit.until > this.#monotonic() ? hit.value : await this.#verify(credential, now);
    if (result.principal.kind === "api_key") this.#uses.set(result.principal.subject, now);
    // `tenant move` pauses the tenant while its documents change storage: a short, retryable refusal.
    if (result.tenant.status === "moving") throw new AppError("unavailable", `tenant ${result.tenant.id} is being moved; retry shortly`);
    if (result.tenant.status === "suspended") {
      // The tenant's plan goes along so the HTTP layer can charge the refusal to its windows (never sent to clients).
      const { id, plan, overrides } = result.tenant;
      throw new AppError("tenant_suspended", `tenant ${id} is suspended; contact the server's operator`, { details: { tenant: { id, plan, overrides } } });
    }
    return result;
  }

  /** Drops every cached verification: an operator change (suspension, revocation) applies to the next request. */
  forget(): void {
    this.#cache.clear();
  }

  /** Persists the last-use times gathered since the previous flush. */
  async flushUsage(): Promise<void> {
    const uses = this.#uses;
    this.#uses = new Map();
    await this.#keys.recordUse(uses);
  }

  async #verify(credential: string, now: number): Promise<Authenticated> {
    this.#cache.delete(credential);
    if (looksLikeJwt(credential)) {
      // Our own tokens are told apart by their issuer; the signature, audience and expiry are then checked as for any JWT.
      if (this.#own && issuerOf(credential) === this.#own.verifier().issuer) return this.#remember(credential, await this.#verifyOwn(this.#own, credential), now);
      if (this.#jwt) return this.#remember(credential, await this.#verifyToken(this.#jwt, credential), now);
    }
    const key = await this.#keys.verify(credential);
    const tenant = await this.#tenants.find(key.tenantId);
    // A removed tenant's keys are gone with it; a race with removal still ends here.
    if (!tenant) throw new AppError("unauthorized", "invalid API key");
    const value: Authenticated = { principal: { tenantId: tenant.id, subject: key.id, kind: "api_key", scopes: key.scopes as Scope[] }, tenant };
    return this.#remember(credential, value, now, key.expiresAt);
  }

  async #verifyToken(jwt: JwtVerifier, token: string): Promise<Authenticated & { expiresAt: number }> {
    const verified = await jwt.verify(token);
    const tenant = await this.#tenants.find(verified.tenantId).catch(() => null);
    if (!tenant) throw new AppError("unauthorized", "invalid token: its tenant does not exist");
    return { principal: { tenantId: tenant.id, subject: verified.subject, kind: "jwt", scopes: verified.scopes }, tenant, expiresAt: verified.expiresAt };
  }

  /** The grant behind the token is looked up on every uncached verification: revocation applies within the cache's second. */
  async #verifyOwn(own: OwnTokens, token: string): Promise<Authenticated & { expiresAt: number }> {
    const verified = await own.verifier().verify(token);
    await own.check(verified);
    const tenant = await this.#tenants.find(verified.tenantId).catch(() => null);
    if (!tenant) throw new AppError("unauthorized", "invalid token: its tenant does not exist");
    return { principal: { tenantId: tenant.id, subject: verified.subject, kind: "oauth", scopes: verified.scopes }, tenant, expiresAt: verified.expiresAt };
  }

  #remember(credential: string, value: Authenticated & { expiresAt?: number }, now: number, expiresAt: number | null = value.expiresAt ?? null): Authenticated {
    const result: Authenticated = { principal: value.principal, tenant: value.tenant };
    // Cached for a second, or until the credential expires if sooner (its expiry is a wall-clock time).
    const until = this.#monotonic() + Math.min(cacheTtlMs, (expiresAt ?? Number.POSITIVE_INFINITY) - now);
    if (this.#cache.size >= cacheMax) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(credential, { value: result, until });
    return result;
  }
}

function issuerOf(token: string): string | null {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === "string" ? iss : null;
  } catch {
    return null;
  }
}
