/** The built-in OAuth 2.1 authorization server: its services, built once for `serve`, shared by its routes and the authenticator. */
import { createLocalJWKSet } from "jose";
import type { OwnTokens } from "../auth/authenticate.ts";
import { JwtVerifier } from "../auth/jwt.ts";
import { AppError } from "../errors.ts";
import { InProcessRateLimiter } from "../limits/rate-limiter.ts";
import type { Runtime } from "../runtime.ts";
import { AccountLockout } from "./lockout.ts";
import { ClientMetadataDocuments } from "./client-metadata-document.ts";
import { ClientService } from "./clients.ts";
import { AuthorizationCodes } from "./codes.ts";
import { GrantService } from "./grants.ts";
import { MemberService } from "./members.ts";
import { Sessions } from "./sessions.ts";
import { durationsOf, issuerOf, resourceOf, type OAuthDurations } from "./settings.ts";
import { signingAlgorithm, SigningKeys } from "./signing-keys.ts";

export type AuthorizationServer = {
  runtime: Runtime;
  durations: OAuthDurations;
  keys: SigningKeys;
  members: MemberService;
  clients: ClientService;
  grants: GrantService;
  codes: AuthorizationCodes;
  sessions: Sessions;
  lockout: AccountLockout;
  /** The last TOTP time step each member used: a code is accepted once. */
  totpSteps: Map<string, number>;
  /** Per client address: failed sign-ins and registrations. */
  limiter: InProcessRateLimiter;
  issuer(): string;
  resource(): string;
  /** What the Authenticator needs to accept our tokens. */
  ownTokens: OwnTokens;
  close(): void;
};

/** The services that live in the control plane (members, clients, grants), for the CLI as well as the server. */
export function oauthServices(runtime: Runtime, actor = runtime.actor, durations: OAuthDurations = durationsOf(runtime.config)) {
  const o = runtime.config.auth.oauth;
  const documents = o.cimd ? new ClientMetadataDocuments({ allowPrivate: o.cimd_allow_private, maxBytes: o.cimd_max_bytes, timeoutMs: o.cimd_timeout_ms, cacheMs: o.cimd_cache_seconds * 1000 }) : null;
  return {
    members: new MemberService({ control: runtime.control, clock: runtime.clock, audit: runtime.audit, actor }),
    clients: new ClientService({ control: runtime.control, clock: runtime.clock, documents, unusedMs: durations.unusedClientMs, maxUnused: o.dcr_max_unused }),
    grants: new GrantService({ control: runtime.control, clock: runtime.clock, audit: runtime.audit, actor, refreshMs: durations.refreshMs }),
  };
}

export async function openAuthorizationServer(runtime: Runtime): Promise<AuthorizationServer> {
  const { config } = runtime;
  const durations = durationsOf(config);
  if (durations.graceMs < durations.accessMs) throw new AppError("config_invalid", "auth.oauth.key_grace must be at least auth.oauth.access_token_ttl (tokens signed by a rotated key must stay valid until they expire)");
  const keys = await new SigningKeys(config.data.dir, runtime.clock).open();
  const services = oauthServices(runtime, runtime.actor, durations);
  const verifier = JwtVerifier.forOwnIssuer({
    issuer: () => issuerOf(config),
    audience: () => resourceOf(config),
    keys: (header, token) => createLocalJWKSet(keys.jwks())(header, token),
    algorithm: signingAlgorithm,
  });
  // Its windows run on the monotonic clock (a wall-clock step must not reset or lock them).
  const limiter = new InProcessRateLimiter();
  // Hourly: unused registrations, and grants (and sign-in links) dead for 30 days, so no table grows without bound.
  const sweeper = setInterval(() => {
    void services.clients.sweep().catch(() => undefined);
    void services.grants.prune(30 * 86_400_000).catch(() => undefined);
  }, 3_600_000);
  sweeper.unref?.();
  return {
    runtime,
    durations,
    keys,
    ...services,
    codes: new AuthorizationCodes(durations.codeMs),
    sessions: new Sessions(durations.sessionMs),
    totpSteps: new Map(),
    lockout: new AccountLockout(config.auth.oauth.password_failures, config.auth.oauth.lockout_minutes * 60_000),
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
