/**
 * Ceiling: a raw Bun.serve handler that reads and parses the JSON-RPC body and answers a fixed tools/call result
 * with the request's id. No MCP SDK, no validation, no auth: the fastest an HTTP JSON-RPC endpoint can be here.
 *
 *   bun bench/baseline-raw.ts [--port 0]      (prints `listening on <url>` on stdout)
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { port: { type: "string", default: "0" } } });

const result = { content: [{ type: "text", text: "hello" }], resultType: "complete" };
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(values.port),
  async fetch(request) {
    const message = (await request.json()) as { id?: string | number | null };
    return Response.json({ jsonrpc: "2.0", id: message.id ?? null, result });
  },
});
console.log(`listening on http://127.0.0.1:${server.port}/mcp`);
