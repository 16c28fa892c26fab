/** The client's address: the socket peer, or (only with server.trust_proxy) the hop our own proxy added. */
import { isIP } from "node:net";
import type { Server } from "bun";
import type { Context } from "hono";
import type { Config } from "../config/schema.ts";

/** The last X-Forwarded-For entry when it is a syntactically valid IP address (brackets and zone stripped), else null. */
export function forwardedAddress(header: string | undefined): string | null {
  if (!header) return null;
  // The last entry is the one our proxy appended; earlier ones are whatever the client claimed.
  const last = header.slice(header.lastIndexOf(",") + 1).trim();
  if (last.length === 0 || last.length > 64) return null;
  const bare = last.startsWith("[") && last.endsWith("]") ? last.slice(1, -1) : last;
  return isIP(bare) ? bare.toLowerCase() : null;
}

export function clientAddress(config: Config): (c: Context) => string {
  return (c) => {
    if (config.server.trust_proxy) {
      const forwarded = forwardedAddress(c.req.header("x-forwarded-for"));
      if (forwarded) return forwarded;
    }
    const server = c.env as Server<unknown> | undefined;
    return server?.requestIP?.(c.req.raw)?.address ?? "unknown";
  };
}
