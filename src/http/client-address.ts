/** The client's address: the socket peer, or (only with server.trust_proxy) the hop our own proxy added. */
import type { Server } from "bun";
import type { Context } from "hono";
import type { Config } from "../config/schema.ts";

export function clientAddress(config: Config): (c: Context) => string {
  return (c) => {
    if (config.server.trust_proxy) {
      // The last entry is the one our proxy appended; earlier ones are whatever the client claimed.
      const forwarded = c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim();
      if (forwarded) return forwarded;
    }
    const server = c.env as Server<unknown> | undefined;
    return server?.requestIP?.(c.req.raw)?.address ?? "unknown";
  };
}
