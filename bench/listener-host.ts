/**
 * An echo server for bench/listeners.ts, served by 1 listener on the main thread or by N Workers each running
 * Bun.serve({ reusePort: true }) on the same port (the kernel spreads connections over them).
 *   --kind sdk: the bare SDK v2 echo server of bench/baseline-sdk.ts (schema inline, per-request McpServer);
 *   --kind raw: the raw Bun handler of bench/baseline-raw.ts.
 *
 *   bun bench/listener-host.ts --kind sdk|raw --listeners 1|N --port P   (prints `listening on <url>`)
 */
import { isMainThread, Worker, workerData } from "node:worker_threads";
import { parseArgs } from "node:util";

type Options = { kind: string; port: number; reusePort: boolean };

async function handlerFor(kind: string): Promise<(request: Request) => Response | Promise<Response>> {
  if (kind === "raw") {
    const result = { content: [{ type: "text", text: "hello" }], resultType: "complete" };
    return async (request) => {
      const message = (await request.json()) as { id?: string | number | null };
      return Response.json({ jsonrpc: "2.0", id: message.id ?? null, result });
    };
  }
  const { createMcpHandler, McpServer } = await import("@modelcontextprotocol/server");
  const z = await import("zod/v4");
  const handler = createMcpHandler(() => {
    const server = new McpServer({ name: "echo", version: "1.0.0" });
    server.registerTool("echo", { description: "Echo a message", inputSchema: z.object({ message: z.string() }) }, async ({ message }) => ({
      content: [{ type: "text", text: message }],
    }));
    return server;
  });
  return (request) => handler.fetch(request);
}

async function listen(o: Options): Promise<number> {
  const handle = await handlerFor(o.kind);
  // x-listener names the thread that answered, so a check can see that the kernel spreads connections.
  const { threadId } = await import("node:worker_threads");
  const fetch = async (request: Request) => {
    const response = await handle(request);
    response.headers.set("x-listener", String(threadId));
    return response;
  };
  const server = Bun.serve({ hostname: "127.0.0.1", port: o.port, reusePort: o.reusePort, fetch });
  return server.port ?? o.port;
}

if (!isMainThread) {
  const o = workerData as Options;
  await listen(o);
  const { parentPort } = await import("node:worker_threads");
  parentPort?.postMessage("ready");
} else {
  const { values } = parseArgs({ args: Bun.argv.slice(2), options: { kind: { type: "string", default: "sdk" }, listeners: { type: "string", default: "1" }, port: { type: "string", default: "0" } } });
  const n = Number(values.listeners);
  const port = Number(values.port);
  if (n === 1) {
    const p = await listen({ kind: values.kind!, port, reusePort: false });
    console.log(`listening on http://127.0.0.1:${p}/mcp`);
  } else {
    if (!port) throw new Error("--port is needed with several listeners (they share it)");
    await Promise.all(
      Array.from({ length: n }, () => {
        const w = new Worker(import.meta.path, { workerData: { kind: values.kind, port, reusePort: true } satisfies Options });
        return new Promise<void>((resolve, reject) => {
          w.once("message", () => resolve());
          w.once("error", reject);
        });
      }),
    );
    console.log(`listening on http://127.0.0.1:${port}/mcp`);
  }
}
