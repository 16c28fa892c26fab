/** JSON-RPC error responses produced by the HTTP pipeline itself (before the MCP SDK sees a request). */

/** Codes of our own, outside the ranges JSON-RPC and the MCP spec reserve (-32700..-32600, -32020..-32099). */
export const rpcCodes = {
  parseError: -32700,
  invalidRequest: -32600,
  serverError: -32000,
  unauthorized: -32001,
  forbidden: -32003,
  timeout: -32004,
} as const;

export type RpcId = string | number | null;

export function rpcErrorResponse(status: number, code: number, message: string, options: { id?: RpcId; headers?: Record<string, string>; data?: unknown } = {}): Response {
  const body = { jsonrpc: "2.0", id: options.id ?? null, error: { code, message, ...(options.data !== undefined ? { data: options.data } : {}) } };
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...options.headers } });
}
