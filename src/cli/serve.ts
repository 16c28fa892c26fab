/** `mcp-mt serve`: starts the HTTP server and runs until SIGTERM/SIGINT. */
import { startServer } from "../http/server.ts";
import { invalidInput } from "../errors.ts";
import { configFrom, str } from "./context.ts";
import type { Handler } from "./spec.ts";

export const serve: Handler = async (ctx) => {
  const loaded = configFrom(ctx);
  const host = str(ctx, "host");
  const port = str(ctx, "port");
  if (host !== undefined) loaded.config.server.host = host;
  if (port !== undefined) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw invalidInput(`--port ${JSON.stringify(port)} is not a port number (0-65535)`);
    loaded.config.server.port = n;
  }
  const server = await startServer(loaded);
  const code = await server.finished;
  // Everything is closed by now; don't let a lingering native handle delay the exit supervisors wait for.
  process.exit(code);
};
