/**
 * The MCP endpoint's door: closed while draining, POST only, JSON only, at most server.max_body_bytes, one
 * JSON-RPC message.
 * Parses the body once and records the method, tool and protocol era for the later layers.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv, RpcInfo } from "../env.ts";
import { rpcCodes, rpcErrorResponse, type RpcId } from "../jsonrpc.ts";

const envelopeVersionKey = "io.modelcontextprotocol/protocolVersion";

export function readBody(maxBytes: number, readiness: { draining: boolean }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (readiness.draining) return rpcErrorResponse(503, rpcCodes.serverError, "server is shutting down; retry shortly", { headers: { "retry-after": "1" } });
    if (c.req.method !== "POST") {
      return rpcErrorResponse(405, rpcCodes.serverError, `Method not allowed: ${c.req.method}. This server is stateless; send JSON-RPC with POST.`, { headers: { allow: "POST" } });
    }
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") {
      return rpcErrorResponse(415, rpcCodes.serverError, `Unsupported Media Type: Content-Type must be application/json, got ${JSON.stringify(type || "(none)")}`);
    }
    const length = c.req.header("content-length");
    if (length !== undefined && Number(length) > maxBytes) return tooLarge(maxBytes);
    // With a declared length within the limit the body can be read at once; otherwise stream it with a cap.
    const text = length !== undefined ? await c.req.raw.text() : await readCapped(c.req.raw, maxBytes);
    if (text === null || (length === undefined && text.length > maxBytes)) return tooLarge(maxBytes);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return rpcErrorResponse(400, rpcCodes.parseError, "Parse error: the body is not valid JSON");
    }
    if (Array.isArray(body)) {
      return rpcErrorResponse(400, rpcCodes.invalidRequest, "Invalid Request: JSON-RPC batches are not supported; send one message per request");
    }
    if (typeof body !== "object" || body === null || (body as { jsonrpc?: unknown }).jsonrpc !== "2.0") {
      return rpcErrorResponse(400, rpcCodes.invalidRequest, 'Invalid Request: expected a JSON-RPC 2.0 object with "jsonrpc": "2.0"');
    }
    c.set("rpc", describe(body as Record<string, unknown>));
    await next();
  };
}

function describe(message: Record<string, unknown>): RpcInfo {
  const params = (typeof message.params === "object" && message.params !== null ? message.params : {}) as Record<string, unknown>;
  const meta = (typeof params._meta === "object" && params._meta !== null ? params._meta : {}) as Record<string, unknown>;
  const id = typeof message.id === "string" || typeof message.id === "number" ? (message.id as RpcId) : null;
  const method = typeof message.method === "string" ? message.method : null;
  return {
    id,
    method,
    tool: method === "tools/call" && typeof params.name === "string" ? params.name.slice(0, 128) : null,
    era: typeof meta[envelopeVersionKey] === "string" ? "2026-07-28" : "2025",
    body: message,
  };
}

const tooLarge = (max: number) => rpcErrorResponse(413, rpcCodes.serverError, `Payload Too Large: the body exceeds server.max_body_bytes (${max} bytes)`);

/** Reads the body, giving up (null) as soon as it grows past `max` bytes. */
async function readCapped(request: Request, max: number): Promise<string | null> {
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(out);
}
