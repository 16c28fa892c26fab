/**
 * Bearer authentication and tenant resolution from the headers alone, before any body is read: 401 with
 * WWW-Authenticate, 403 for a suspended tenant, 429 for an (address, key id) that failed too often. Every
 * refusal closes the connection, so a stranger's body is never read.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Authenticator } from "../../auth/authenticate.ts";
import { looksLikeApiKey } from "../../auth/api-key.ts";
import { AppError } from "../../errors.ts";
import type { AuditLog } from "../../audit/audit-log.ts";
import { claimedKeyId, type AuthFailureLimiter } from "../auth-failures.ts";
import type { AppEnv } from "../env.ts";
import type { Challenges } from "../well-known.ts";
import { rpcCodes, rpcErrorResponse } from "../jsonrpc.ts";

const credentialParams = ["access_token", "api_key", "apikey", "key", "token", "authorization"];
const close = { connection: "close" };

export type AuthenticateOptions = {
  authenticator: Authenticator;
  failures: AuthFailureLimiter;
  challenges: Challenges;
  audit: AuditLog;
  /** Charges a suspended tenant's refused request to its windows; returns the 429 to send once they are spent. */
  chargeRefused?: (c: Context<AppEnv>, tenant: { id: string; plan: string; overrides: Record<string, number> }) => Promise<Response | null>;
};

export function authenticate({ authenticator, failures, challenges, audit, chargeRefused }: AuthenticateOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const address = c.get("client")();
    const header = c.req.header("authorization");
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    const credential = match?.[1] ?? null;
    const keyId = claimedKeyId(credential);
    // A key id this address already failed with too often is still checked (a valid credential is never
    // refused: checking a key costs one HMAC), but a failure then gets 429 and is not counted again.
    const wait = failures.refusal(address, keyId);
    const refuse = (message: string, credentialSent: boolean) => {
      if (wait !== null) {
        return rpcErrorResponse(429, rpcCodes.unauthorized, `Too many failed authentication attempts with this credential from this address; retry after ${wait} s`, { headers: { "retry-after": String(wait), ...close } });
      }
      failures.fail(address, keyId);
      // At most one entry per address a minute (none once the global budget is spent); the rest are counted into the next one.
      // Never silent: a failed write is logged at error level and counted (audit.failures).
      if (!failures.overBudget) audit.recordThrottled(`ip:${address}`, 60_000, { actor: "anonymous", action: "auth.failed", outcome: "failure", client: address, details: { reason: message } });
      return rpcErrorResponse(401, rpcCodes.unauthorized, `Unauthorized: ${message}`, { headers: { "www-authenticate": challenges.unauthorized(credentialSent ? message : null), ...close } });
    };
    // Only parse the URL when there is a query string at all (the common case has none).
    const query = c.req.url.includes("?") ? new URL(c.req.url).searchParams : [];
    for (const [name, value] of query) {
      if (credentialParams.includes(name.toLowerCase()) || looksLikeApiKey(value)) {
        return refuse("credentials in the query string are refused (they end up in logs); send Authorization: Bearer <key>", true);
      }
    }
    if (!header) return refuse(`missing credentials: ${challenges.expected}`, false);
    if (credential === null) return refuse("malformed Authorization header: expected Bearer <API key>", true);
    try {
      c.set("auth", await authenticator.authenticate(credential));
    } catch (error) {
      if (error instanceof AppError && error.code === "tenant_suspended") {
        const tenant = error.details?.tenant as { id: string; plan: string; overrides: Record<string, number> } | undefined;
        const limited = tenant && chargeRefused ? await chargeRefused(c, tenant) : null;
        return limited ?? rpcErrorResponse(403, rpcCodes.forbidden, error.message, { headers: close });
      }
      if (error instanceof AppError && error.code === "unauthorized") return refuse(error.message, true);
      throw error;
    }
    await next();
  };
}
