/** app.onError: an AppError thrown by a middleware or a route keeps its status, JSON-RPC code and Retry-After. */
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { onAppError } from "../../src/http/app.ts";
import type { AppEnv } from "../../src/http/env.ts";
import { AppError, type ErrorCode } from "../../src/errors.ts";
import { createLogger } from "../../src/log.ts";

const lines: string[] = [];
const log = createLogger({ level: "debug", format: "json", write: (line) => void lines.push(line) });

function appThrowing(error: unknown, where: "middleware" | "route"): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", async (c, next) => {
    c.set("requestId", "req-7");
    c.set("rpc", { id: 42, method: "tools/call", tool: "x", era: "2026-07-28", body: {} });
    if (where === "middleware") throw error;
    await next();
  });
  app.post("/mcp", () => {
    throw error;
  });
  app.onError(onAppError(log));
  return app;
}

describe("app.onError maps the one error currency", () => {
  const rows: [ErrorCode, number, number, string | null][] = [
    ["unavailable", 503, -32005, "1"],
    ["storage_damaged", 503, -32007, null],
    ["storage_full", 507, -32006, null],
    ["timeout", 504, -32004, null],
    ["not_found", 404, -32002, null],
    ["invalid_input", 400, -32602, null],
  ];
  for (const where of ["middleware", "route"] as const) {
    test.each(rows)(`${where}: %s → %d with JSON-RPC %d`, async (code, status, rpc, retryAfter) => {
      const response = await appThrowing(new AppError(code, `the ${code} reason`), where).request("/mcp", { method: "POST" });
      expect(response.status).toBe(status);
      expect(response.headers.get("retry-after")).toBe(retryAfter);
      expect(await response.json()).toEqual({ jsonrpc: "2.0", id: 42, error: { code: rpc, message: `the ${code} reason` } });
    });
  }

  test("anything else is a 500 naming the request, never its message", async () => {
    const response = await appThrowing(new Error("ENOENT /srv/secret/path"), "route").request("/mcp", { method: "POST" });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ jsonrpc: "2.0", id: 42, error: { code: -32603, message: "Internal error (request req-7)" } });
    expect(lines.some((line) => line.includes("unhandled error"))).toBe(true);
  });
});
