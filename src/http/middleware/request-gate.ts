/**
 * The MCP endpoint's door, from the request line and headers alone (nothing is read yet): closed while
 * draining, POST only, JSON only, a declared length within server.max_body_bytes. Also fixes the client
 * address every later layer uses.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { rpcCodes, rpcErrorResponse } from "../jsonrpc.ts";

/** Past this many times the limit, an over-long body is not drained to keep the connection: it is closed. */
export const drainFactor = 4;

export function requestGate(options: { maxBytes: number; readiness: { draining: boolean }; clientAddress(c: Context<AppEnv>): string }): MiddlewareHandler<AppEnv> {
  const { maxBytes, readiness } = options;
  return async (c, next) => {
    let address: string | undefined;
    c.set("client", () => (address ??= options.clientAddress(c)));
    if (readiness.draining) return rpcErrorResponse(503, rpcCodes.serverError, "server is shutting down; retry shortly", { headers: { "retry-after": "1", connection: "close" } });
    // A refused request's body is never read: with one on the wire, the connection closes instead of draining it.
    const length = Number(c.req.header("content-length") ?? 0);
    const unread: Record<string, string> = length > 0 || c.req.header("transfer-encoding") !== undefined ? { connection: "close" } : {};
    if (c.req.method !== "POST") {
      return rpcErrorResponse(405, rpcCodes.serverError, `Method not allowed: ${c.req.method}. This server is stateless; send JSON-RPC with POST.`, { headers: { allow: "POST", ...unread } });
    }
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") {
      return rpcErrorResponse(415, rpcCodes.serverError, `Unsupported Media Type: Content-Type must be application/json, got ${JSON.stringify(type.slice(0, 100) || "(none)")}`, { headers: unread });
    }
    // Bun drains an unread body of a declared length before the next request, so a moderately over-long
    // body keeps the connection (clients' sessions survive it); a huge one is not worth draining.
    if (length > maxBytes) return payloadTooLarge(maxBytes, length > maxBytes * drainFactor);
    await next();
  };
}

/** 413 naming the limit, as a JSON-RPC error. */
export function payloadTooLarge(maxBytes: number, closeConnection: boolean): Response {
  return rpcErrorResponse(413, rpcCodes.serverError, `Payload Too Large: the body exceeds server.max_body_bytes (${maxBytes} bytes)`, {
    headers: closeConnection ? { connection: "close" } : {},
    data: { limit: "server.max_body_bytes", max_bytes: maxBytes },
  });
}
