/**
 * What Bun.serve does around every request, below the app: the per-address connection cap, the idle timeout
 * (long while a request runs, server.idle_timeout_ms once it is answered), and keep-alive comments on event
 * streams so the idle timeout never cuts one.
 */
import type { Server } from "bun";
import type { Config } from "../config/schema.ts";
import { ConnectionCap } from "./connection-cap.ts";
import { isEventStream, keepEventStreamAlive } from "./event-stream.ts";
import { rpcCodes, rpcErrorResponse } from "./jsonrpc.ts";

/** Bun's idle timeouts are whole seconds, at most 255. */
const seconds = (ms: number) => Math.min(255, Math.max(1, Math.ceil(ms / 1000)));

const closes = (message: Request | Response) => message.headers.get("connection")?.toLowerCase() === "close";

export type Edge = (request: Request, server: Server<unknown>, handle: () => Response | Promise<Response>) => Promise<Response>;

export function connectionEdge(config: Config): Edge {
  const { idle_timeout_ms, body_timeout_ms, request_timeout_ms, max_connections_per_address, trust_proxy } = config.server;
  const idle = seconds(idle_timeout_ms);
  // While a request runs, the idle timer must not cut it: the body and request timeouts govern then.
  const working = seconds(body_timeout_ms + request_timeout_ms + 5_000);
  // Behind our own proxy every connection comes from the proxy: a per-client cap belongs in the proxy.
  const cap = trust_proxy ? null : new ConnectionCap({ max: max_connections_per_address, idleTimeoutMs: idle * 1000 });
  const setTimeout = (server: Server<unknown>, request: Request, value: number) => {
    try {
      server.timeout(request, value);
    } catch {
      // the connection is already gone
    }
  };

  return async (request, server, handle) => {
    const peer = cap ? server.requestIP(request) : null;
    if (cap && peer && !cap.enter(peer.address, peer.port)) {
      return rpcErrorResponse(429, rpcCodes.serverError, `Too many connections from this address (server.max_connections_per_address = ${max_connections_per_address}); reuse connections or close idle ones`, {
        headers: { "retry-after": String(idle), connection: "close" },
      });
    }
    let response: Response | undefined;
    try {
      setTimeout(server, request, working);
      response = await handle();
      setTimeout(server, request, idle);
      return isEventStream(response) ? keepEventStreamAlive(response, (idle * 1000) / 2) : response;
    } finally {
      if (cap && peer) cap.leave(peer.address, peer.port, closes(request) || (response !== undefined && closes(response)));
    }
  };
}
