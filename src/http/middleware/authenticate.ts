/** Bearer authentication and tenant resolution: 401 with WWW-Authenticate, 403 for a suspended tenant. */
import type { Context, MiddlewareHandler } from "hono";
import type { InProcessRateLimiter } from "../../limits/rate-limiter.ts";
import type { Authenticator } from "../../auth/authenticate.ts";
import { looksLikeApiKey } from "../../auth/api-key.ts";
import { AppError } from "../../errors.ts";
import type { AuditLog } from "../../audit/audit-log.ts";
import type { AppEnv } from "../env.ts";
import type { Challenges } from "../well-known.ts";
import { rpcCodes, rpcErrorResponse } from "../jsonrpc.ts";

const credentialParams = ["access_token", "api_key", "apikey", "key", "token", "authorization"];

export type AuthenticateOptions = {
  authenticator: Authenticator;
  /** Failed attempts per client address, limited much more tightly than tenants' traffic. */
  failures: InProcessRateLimiter;
  failuresPerMinute: number;
  clientAddress(c: Context<AppEnv>): string;
  challenges: Challenges;
  audit: AuditLog;
  /** Charges a suspended tenant's refused request to its windows; returns the 429 to send once they are spent. */
  chargeRefused?: (c: Context<AppEnv>, tenant: { id: string; plan: string; overrides: Record<string, number> }) => Promise<Response | null>;
};

export function authenticate({ authenticator, failures, failuresPerMinute, clientAddress, challenges, audit, chargeRefused }: AuthenticateOptions): MiddlewareHandler<AppEnv> {
  const key = (c: Context<AppEnv>) => `ip:${c.get("client")()}`;
  return async (c, next) => {
    let address: string | undefined;
    c.set("client", () => (address ??= clientAddress(c)));
    const id = c.get("rpc")?.id ?? null;
    // An address that failed too often is refused before any credential is looked at.
    if (failures.consumeNow(key(c), failuresPerMinute, 60_000, 0).remaining <= 0) {
      const wait = failures.consumeNow(key(c), failuresPerMinute, 60_000, 1);
      const retryAfter = String(Math.max(1, Math.ceil(wait.retryAfterMs / 1000)));
      return rpcErrorResponse(429, rpcCodes.unauthorized, `Too many failed authentication attempts from this address; retry after ${retryAfter} s`, { id, headers: { "retry-after": retryAfter } });
    }
    const refuse = (message: string, credentialSent: boolean) => {
      failures.consumeNow(key(c), failuresPerMinute, 60_000, 1);
      // At most one entry per address a minute; the rest are counted into the next one.
      void audit.appendThrottled(key(c), 60_000, { actor: "anonymous", action: "auth.failed", outcome: "failure", client: c.get("client")(), details: { reason: message } })?.catch(() => undefined);
      return rpcErrorResponse(401, rpcCodes.unauthorized, `Unauthorized: ${message}`, { id, headers: { "www-authenticate": challenges.unauthorized(credentialSent ? message : null) } });
    };
    // Only parse the URL when there is a query string at all (the common case has none).
    const query = c.req.url.includes("?") ? new URL(c.req.url).searchParams : [];
    for (const [name, value] of query) {
      if (credentialParams.includes(name.toLowerCase()) || looksLikeApiKey(value)) {
        return refuse("credentials in the query string are refused (they end up in logs); send Authorization: Bearer <key>", true);
      }
    }
    const header = c.req.header("authorization");
    if (!header) return refuse("missing credentials: send Authorization: Bearer <API key>", false);
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return refuse("malformed Authorization header: expected Bearer <API key>", true);
    try {
      c.set("auth", await authenticator.authenticate(match[1]!));
    } catch (error) {
      if (error instanceof AppError && error.code === "tenant_suspended") {
        const tenant = error.details?.tenant as { id: string; plan: string; overrides: Record<string, number> } | undefined;
        const limited = tenant && chargeRefused ? await chargeRefused(c, tenant) : null;
        return limited ?? rpcErrorResponse(403, rpcCodes.forbidden, error.message, { id });
      }
      if (error instanceof AppError && error.code === "unauthorized") return refuse(error.message, true);
      throw error;
    }
    await next();
  };
}
