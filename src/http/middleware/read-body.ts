/**
 * Reads and parses the body of an authenticated request: at most server.max_body_bytes, within
 * server.body_timeout_ms, at most server.max_body_reads_per_address bodies arriving at once from one client
 * address, one JSON-RPC message. Records the method, tool and protocol era for the later layers.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv, RpcInfo } from "../env.ts";
import { rpcCodes, rpcErrorResponse, type RpcId } from "../jsonrpc.ts";
import { payloadTooLarge } from "./request-gate.ts";

const envelopeVersionKey = "io.modelcontextprotocol/protocolVersion";

/** Status recorded for a client that went away mid-request (nginx's convention); nobody receives it. */
export const clientClosedStatus = 499;

export type ReadBodyOptions = { maxBytes: number; timeoutMs: number; maxReadsPerAddress: number };

export function readBody({ maxBytes, timeoutMs, maxReadsPerAddress }: ReadBodyOptions): MiddlewareHandler<AppEnv> {
  const reading = new Map<string, number>();
  return async (c, next) => {
    const address = c.get("client")();
    const inProgress = reading.get(address) ?? 0;
    if (inProgress >= maxReadsPerAddress) {
      return rpcErrorResponse(429, rpcCodes.serverError, `Too many request bodies still arriving from this address (server.max_body_reads_per_address = ${maxReadsPerAddress}); retry shortly`, {
        headers: { "retry-after": "1", connection: "close" },
      });
    }
    reading.set(address, inProgress + 1);
    let outcome: Read;
    try {
      outcome = await readWithin(c.req.raw, maxBytes, timeoutMs);
    } finally {
      const left = reading.get(address)! - 1;
      if (left === 0) reading.delete(address);
      else reading.set(address, left);
    }
    if (outcome.kind === "aborted") {
      c.set("clientAborted", true);
      return new Response(null, { status: clientClosedStatus });
    }
    if (outcome.kind === "timeout") {
      return rpcErrorResponse(408, rpcCodes.serverError, `Request Timeout: the body did not arrive within server.body_timeout_ms (${timeoutMs} ms)`, { headers: { connection: "close" } });
    }
    if (outcome.kind === "too_large") return payloadTooLarge(maxBytes, true);
    if (outcome.kind === "unreadable") return rpcErrorResponse(400, rpcCodes.parseError, "Bad Request: the body could not be read (malformed transfer encoding)", { headers: { connection: "close" } });
    let body: unknown;
    try {
      body = JSON.parse(outcome.text);
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

type Read = { kind: "ok"; text: string } | { kind: "too_large" } | { kind: "timeout" } | { kind: "aborted" } | { kind: "unreadable" };

/** Reads the body, giving up as soon as it grows past `max` bytes, stalls past `timeoutMs`, or the client leaves. */
async function readWithin(request: Request, max: number, timeoutMs: number): Promise<Read> {
  // A declared length within the limit (request-gate refused longer ones) bounds the body by HTTP framing: read
  // it whole, without a stream reader (the reader's promise machinery cost ~30 µs per request).
  const declared = request.headers.get("content-length");
  if (declared !== null && request.headers.get("transfer-encoding") === null && Number(declared) <= max) return readDeclared(request, max, timeoutMs);
  if (!request.body) return { kind: "ok", text: "" };
  const reader = request.body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), timedOut]);
      if (next === "timeout") {
        void reader.cancel().catch(() => undefined);
        return { kind: "timeout" };
      }
      if (next.done) break;
      size += next.value.byteLength;
      if (size > max) {
        void reader.cancel().catch(() => undefined);
        return { kind: "too_large" };
      }
      chunks.push(next.value);
    }
  } catch {
    // Mostly the connection closing under the body; otherwise the body itself was malformed on the wire.
    return { kind: request.signal.aborted ? "aborted" : "unreadable" };
  } finally {
    clearTimeout(timer);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { kind: "ok", text: decoder.decode(out) };
}

/** A body of a declared length: read at once, within `timeoutMs`. */
async function readDeclared(request: Request, max: number, timeoutMs: number): Promise<Read> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
  try {
    const bytes = await Promise.race([request.arrayBuffer(), timedOut]);
    if (bytes === "timeout") return { kind: "timeout" };
    if (bytes.byteLength > max) return { kind: "too_large" };
    return { kind: "ok", text: decoder.decode(bytes) };
  } catch {
    return { kind: request.signal.aborted ? "aborted" : "unreadable" };
  } finally {
    clearTimeout(timer);
  }
}

const decoder = new TextDecoder();
