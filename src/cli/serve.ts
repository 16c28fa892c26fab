/** `mcp-mt serve`: starts the HTTP server and runs until SIGTERM/SIGINT. */
import { startServer, type ListenAddress, type RunningServer } from "../http/server.ts";
import { AppError, invalidInput } from "../errors.ts";
import { configFrom, str } from "./context.ts";
import type { Handler } from "./spec.ts";

export const serve: Handler = async (ctx) => {
  const loaded = configFrom(ctx);
  const host = str(ctx, "host");
  const port = str(ctx, "port");
  const overrides: Partial<ListenAddress> = {};
  if (host !== undefined) overrides.host = host;
  if (port !== undefined) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw invalidInput(`--port ${JSON.stringify(port)} is not a port number (0-65535)`);
    overrides.port = n;
  }
  let server: RunningServer;
  try {
    server = await startServer(loaded, overrides);
  } catch (error) {
    // A failed start (busy port, locked data directory) may leave timers and open files behind: report and
    // exit now instead of idling forever. The data directory's lock is released by the kernel as we exit.
    const message = error instanceof AppError ? error.message : error instanceof Error ? error.message : String(error);
    if (ctx.out.json) process.stdout.write(`${JSON.stringify({ error: { code: error instanceof AppError ? error.code : "unavailable", message } })}\n`);
    process.stderr.write(`mcp-mt serve: ${message}\n`);
    process.exit(1);
  }
  const code = await server.finished;
  // Everything is closed by now; don't let a lingering native handle delay the exit supervisors wait for.
  process.exit(code);
};
