/**
 * Baseline: the bare MCP TypeScript SDK v2 server a user could write in ten lines, one `echo` tool, stateless
 * createMcpHandler on Bun.serve, no auth, no logging.
 *
 *   bun bench/baseline-sdk.ts [--port 0] [--schema inline|hoisted]
 *
 * --schema inline (default): the zod input schema is written inside the factory, the way the SDK examples and
 *   a typical user write it, so a new schema object is built (and zod compiles its parser) on every request.
 * --schema hoisted: the same server with the schema defined once at module scope (the SDK's recommended shape).
 * Prints `listening on <url>` on stdout once it accepts connections.
 */
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import { parseArgs } from "node:util";
import * as z from "zod/v4";

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { port: { type: "string", default: "0" }, schema: { type: "string", default: "inline" } } });
if (values.schema !== "inline" && values.schema !== "hoisted") throw new Error("--schema must be inline or hoisted");

// ---- the hoisted variant: schema built once, at module scope
const EchoInput = z.object({ message: z.string() });
const hoisted = createMcpHandler(() => {
  const server = new McpServer({ name: "echo", version: "1.0.0" });
  server.registerTool("echo", { description: "Echo a message", inputSchema: EchoInput }, async ({ message }) => ({ content: [{ type: "text", text: message }] }));
  return server;
});

// ---- the ten-line version, as the docs show it and a user writes it: schema inside the factory
const inline = createMcpHandler(() => {
  const server = new McpServer({ name: "echo", version: "1.0.0" });
  server.registerTool("echo", { description: "Echo a message", inputSchema: z.object({ message: z.string() }) }, async ({ message }) => ({
    content: [{ type: "text", text: message }],
  }));
  return server;
});

const handler = values.schema === "hoisted" ? hoisted : inline;
const server = Bun.serve({ hostname: "127.0.0.1", port: Number(values.port), fetch: (request) => handler.fetch(request) });
console.log(`listening on http://127.0.0.1:${server.port}/mcp`);
