/** JSON-RPC error responses produced by the HTTP pipeline itself (before the MCP SDK sees a request). */
import { rpcErrorCodes, wireError } from "../errors.ts";

/** Codes of our own, outside the ranges JSON-RPC and the MCP spec reserve (-32700..-32600, -32020..-32099); the table is src/errors.ts. */
export const rpcCodes = {
  parseError: rpcErrorCodes.parseError,
  invalidRequest: rpcErrorCodes.invalidRequest,
  serverError: rpcErrorCodes.serverError,
  unauthorized: rpcErrorCodes.unauthorized,
  forbidden: rpcErrorCodes.forbidden,
  timeout: rpcErrorCodes.timeout,
} as const;

export type RpcId = string | number | null;

export function rpcErrorResponse(status: number, code: number, message: string, options: { id?: RpcId; headers?: Record<string, string>; data?: unknown } = {}): Response {
  const body = { jsonrpc: "2.0", id: options.id ?? null, error: { code, message, ...(options.data !== undefined ? { data: options.data } : {}) } };
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...options.headers } });
}

/** Any error as an HTTP JSON-RPC error response, through the one table (src/errors.ts wireError). */
export function errorResponse(error: unknown, id: RpcId = null, reference?: string): Response {
  const wire = wireError(error, reference);
  return rpcErrorResponse(wire.status, wire.error.code, wire.error.message, { id, headers: wire.headers, data: wire.error.data });
}

/** The deadline error, the same on HTTP and stdio. */
export const timeoutMessage = (timeoutMs: number) => `Request timed out after ${timeoutMs} ms (the plan's request_timeout_ms); the operation was cancelled`;
