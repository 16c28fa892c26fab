/**
 * DNS-rebinding protection. A loopback bind accepts only localhost Host names; a public bind accepts the
 * public_url host, the allowed_origins hosts, loopback names and IP literals (a rebinding attack always
 * arrives under the attacker's DNS name). A browser Origin must be the public URL's, an allowed origin, or
 * a loopback origin on a loopback Host. Anything else is 403.
 */
import type { MiddlewareHandler } from "hono";
import type { Config } from "../../config/schema.ts";
import type { AppEnv } from "../env.ts";
import { rpcCodes, rpcErrorResponse } from "../jsonrpc.ts";

const loopbackNames = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);
const isIpLiteral = (host: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith("[");

export function isLoopbackBind(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** The hostname of a Host header: `name[:port]` or `[v6]:port`; null when malformed. */
export function hostnameOf(hostHeader: string): string | null {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(hostHeader);
  return match ? match[1]!.toLowerCase() : null;
}

export function originGuard(config: Config): MiddlewareHandler<AppEnv> {
  const loopback = isLoopbackBind(config.server.host);
  const publicUrl = config.server.public_url ? new URL(config.server.public_url) : null;
  const allowedOrigins = new Set(config.server.allowed_origins.map((o) => new URL(o).origin));
  if (publicUrl) allowedOrigins.add(publicUrl.origin);
  const allowedHosts = new Set([...allowedOrigins].map((o) => new URL(o).hostname.toLowerCase()));
  for (const name of loopbackNames) allowedHosts.add(name);
  if (!loopback && !["0.0.0.0", "::"].includes(config.server.host)) allowedHosts.add(config.server.host.toLowerCase());

  const hostAllowed = (hostname: string) => allowedHosts.has(hostname) || (!loopback && isIpLiteral(hostname));

  return async (c, next) => {
    const hostname = hostnameOf(c.req.header("host") ?? "");
    if (!hostname || !hostAllowed(hostname)) {
      return rpcErrorResponse(403, rpcCodes.forbidden, `Host ${JSON.stringify(c.req.header("host") ?? "")} is not allowed; set server.public_url to the address clients use`);
    }
    const origin = c.req.header("origin");
    if (origin !== undefined) {
      let parsed: URL | null = null;
      try {
        parsed = new URL(origin);
      } catch {
        parsed = null;
      }
      const ok = parsed !== null && (allowedOrigins.has(parsed.origin) || (loopbackNames.has(parsed.hostname) && loopbackNames.has(hostname)));
      if (!ok) return rpcErrorResponse(403, rpcCodes.forbidden, `Origin ${JSON.stringify(origin)} is not allowed; add it to server.allowed_origins`);
    }
    await next();
  };
}
