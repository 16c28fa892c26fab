/** Bearer authentication and tenant resolution: 401 with WWW-Authenticate, 403 for a suspended tenant. */
import type { MiddlewareHandler } from "hono";
import type { Authenticator } from "../../auth/authenticate.ts";
import { looksLikeApiKey } from "../../auth/api-key.ts";
import { AppError } from "../../errors.ts";
import type { AppEnv } from "../env.ts";
import { rpcCodes, rpcErrorResponse } from "../jsonrpc.ts";

const credentialParams = ["access_token", "api_key", "apikey", "key", "token", "authorization"];

export function authenticate(authenticator: Authenticator): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const id = c.get("rpc")?.id ?? null;
    const url = new URL(c.req.url);
    for (const [name, value] of url.searchParams) {
      if (credentialParams.includes(name.toLowerCase()) || looksLikeApiKey(value)) {
        return unauthorized(id, "credentials in the query string are refused (they end up in logs); send Authorization: Bearer <key>", true);
      }
    }
    const header = c.req.header("authorization");
    if (!header) return unauthorized(id, "missing credentials: send Authorization: Bearer <API key>", false);
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return unauthorized(id, "malformed Authorization header: expected Bearer <API key>", true);
    try {
      c.set("auth", await authenticator.authenticate(match[1]!));
    } catch (error) {
      if (error instanceof AppError && error.code === "tenant_suspended") return rpcErrorResponse(403, rpcCodes.forbidden, error.message, { id });
      if (error instanceof AppError && error.code === "unauthorized") return unauthorized(id, error.message, true);
      throw error;
    }
    await next();
  };
}

function unauthorized(id: string | number | null, message: string, credentialSent: boolean): Response {
  const challenge = credentialSent ? `Bearer realm="mcp-mt", error="invalid_token", error_description="${message.replaceAll('"', "'")}"` : 'Bearer realm="mcp-mt"';
  return rpcErrorResponse(401, rpcCodes.unauthorized, `Unauthorized: ${message}`, { id, headers: { "www-authenticate": challenge } });
}
