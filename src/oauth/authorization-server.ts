/** The built-in OAuth 2.1 authorization server: its services, built once for `serve`, shared by its routes and the authenticator. */
import { createLocalJWKSet } from "jose";
import type { OwnTokens } from "../auth/authenticate.ts";
import { JwtVerifier } from "../auth/jwt.ts";
import { AppError } from "../errors.ts";
import { InProcessRateLimiter } from "../limits/rate-limiter.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import type { KeyService } from "../auth/keys.ts";
import type { Config } from "../config/schema.ts";
import type { Services } from "../services.ts";
import type { TenantService } from "../tenancy/tenants.ts";
import type { RedisConnection } from "../limits/redis-connection.ts";
import { MemoryStore, RedisStore } from "./ephemeral-store.ts";
import { AccountLockout } from "./lockout.ts";
import { UsedTotpSteps } from "./totp-steps.ts";
import { AuthorizationCodes } from "./codes.ts";
import type { OAuthServices } from "./oauth-services.ts";
import { Sessions } from "./sessions.ts";
import { durationsOf, issuerOf, resourceOf, type OAuthDurations } from "./settings.ts";
import { signingAlgorithm, keyStoreFor, SigningKeys } from "./signing-keys.ts";

export type AuthorizationServer = {
  config: Config;
  clock: () => number;
  tenants: TenantService;
  /** API keys (a member may sign in with one); `keys` are the signing keys. */
  apiKeys: KeyService;
  audit: AuditLog;
  durations: OAuthDurations;
  keys: SigningKeys;
  members: OAuthServices["members"];
  clients: OAuthServices["clients"];
  grants: OAuthServices["grants"];
  codes: AuthorizationCodes;
  sessions: Sessions;
  lockout: AccountLockout;
  /** The TOTP time steps members used: a code is accepted once. */
  totpSteps: UsedTotpSteps;
  /** Per client address: failed sign-ins and registrations. */
  limiter: InProcessRateLimiter;
  issuer(): string;
  resource(): string;
  /** What the Authenticator needs to accept our tokens. */
  ownTokens: OwnTokens;
  close(): void;
};

/** What the authorization server needs of the services: the config, the control-plane services, the audit log. */
export type AuthorizationServerDeps = Pick<Services, "config" | "clock" | "tenants" | "keys" | "audit" | "oauth" | "control">;

/**
 * `redis`: the instance's Redis connection (limits.redis_url): sign-in sessions, codes and lockouts are then
 * shared by every instance; without it they live in this process.
 */
/** Browser sessions kept in this process at most (the oldest goes first beyond it). */
const maxSessionsInMemory = 50_000;

export async function openAuthorizationServer(deps: AuthorizationServerDeps, options: { redis?: RedisConnection | null } = {}): Promise<AuthorizationServer> {
  const { config, clock } = deps;
  const durations = durationsOf(config);
  if (durations.graceMs < durations.accessMs) throw new AppError("config_invalid", "auth.oauth.key_grace must be at least auth.oauth.access_token_ttl (tokens signed by a rotated key must stay valid until they expire)");
  const keys = await new SigningKeys(keyStoreFor(deps.control, config.data.dir), clock).open();
  const services = deps.oauth;
  const verifier = JwtVerifier.forOwnIssuer({
    issuer: () => issuerOf(config),
    audience: () => resourceOf(config),
    keys: (header, token) => createLocalJWKSet(keys.jwks())(header, token),
    algorithm: signingAlgorithm,
  });
  // Its windows run on the monotonic clock (a wall-clock step must not reset or lock them).
  const limiter = new InProcessRateLimiter();
  const store = options.redis ? new RedisStore(options.redis) : new MemoryStore();
  // In this process, browser sessions (anyone can start one) get a store of their own: a flood of sessions
  // evicting the oldest keys must never evict a lockout, a used TOTP step or a pending code.
  const sessionStore = options.redis ? store : new MemoryStore(undefined, maxSessionsInMemory);
  // Hourly: unused registrations, and grants (and sign-in links) dead for 30 days, so no table grows without bound.
  const sweeper = setInterval(() => {
    void services.clients.sweep().catch(() => undefined);
    void services.grants.prune(30 * 86_400_000).catch(() => undefined);
  }, 3_600_000);
  sweeper.unref?.();
  return {
    config,
    clock,
    tenants: deps.tenants,
    apiKeys: deps.keys,
    audit: deps.audit,
    durations,
    keys,
    ...services,
    codes: new AuthorizationCodes(store, durations.codeMs),
    sessions: new Sessions(sessionStore, durations.sessionMs, clock),
    totpSteps: new UsedTotpSteps(store),
    lockout: new AccountLockout(store, config.auth.oauth.password_failures, config.auth.oauth.lockout_minutes * 60_000),
    limiter,
    issuer: () => issuerOf(config),
    resource: () => resourceOf(config),
    ownTokens: {
      verifier: verifier.verifier,
      async check(token) {
        const gid = token.claims.gid;
        if (typeof gid !== "string") throw new AppError("unauthorized", "invalid token: no grant");
        await services.grants.assertActive(gid, token.tenantId);
      },
    },
    close() {
      clearInterval(sweeper);
      void limiter.close();
    },
  };
}
