/** The per-request timeout of the MCP route: a tool still waiting when the plan's timeout passes is aborted. */
import { afterAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { z } from "zod";
import { Authenticator } from "../../src/auth/authenticate.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { AppEnv } from "../../src/http/env.ts";
import { mcpRoute } from "../../src/http/mcp-route.ts";
import { readBody } from "../../src/http/middleware/read-body.ts";
import { effectivePlan } from "../../src/limits/plan.ts";
import { createLogger } from "../../src/log.ts";
import { buildCatalogue } from "../../src/mcp/server.ts";
import { defineTool } from "../../src/mcp/tool.ts";
import { UsageMeter } from "../../src/metering/usage-meter.ts";
import { createServices } from "../../src/services.ts";
import { modernRequest } from "../helpers/server.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

describe("request timeout", () => {
  test("a tool still waiting after the plan's request_timeout_ms gets a 504 with a clear error, and sees its signal aborted", async () => {
    const dir = tempDir();
    const loaded = loadConfig({ env: {}, cwd: dir, dataDir: dir });
    loaded.config.plans.free!.request_timeout_ms = 100;
    const runtime = await createServices(loaded);
    const { key } = await runtime.tenants.add({ id: "acme" }, { actor: "operator:test" });
    let aborted: unknown = null;
    const catalogue = buildCatalogue(runtime.config);
    // A real tool definition that waits like a slow dependency would, and watches its signal.
    catalogue.tools.push(
      defineTool({
        name: "wait_a_while",
        title: "Wait",
        description: "Waits one second.",
        scope: "documents:read",
        input: z.object({}),
        output: z.object({ done: z.boolean() }),
        annotations: { readOnlyHint: true },
        async run(_args, ctx) {
          ctx.signal.addEventListener("abort", () => (aborted = ctx.signal.reason));
          await Bun.sleep(1_000);
          return { done: true };
        },
        text: () => "done",
      }),
    );
    const authenticator = new Authenticator({ keys: runtime.keys, tenants: runtime.tenants, clock: runtime.clock });
    const meter = new UsageMeter({ control: runtime.control, clock: runtime.clock });
    const app = new Hono<AppEnv>();
    app.use("*", async (c, next) => {
      c.set("requestId", "req-1");
      c.set("client", () => "127.0.0.1");
      await next();
    });
    app.use("/mcp", readBody({ maxBytes: 1_000_000, timeoutMs: 10_000, maxReadsPerAddress: 32 }));
    app.use("/mcp", async (c, next) => {
      const auth = await authenticator.authenticate(key.api_key);
      c.set("auth", auth);
      c.set("plan", effectivePlan(runtime.config, auth.tenant));
      await next();
    });
    app.all("/mcp", mcpRoute({ services: runtime, catalogue, log: createLogger({ level: "error", format: "json" }), meter }));

    const { body, headers } = modernRequest("tools/call", { name: "wait_a_while", arguments: {} }, 9);
    const response = await app.fetch(new Request("http://127.0.0.1/mcp", { method: "POST", headers: { ...headers, "content-length": String(JSON.stringify(body).length) }, body: JSON.stringify(body) }));
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({
      jsonrpc: "2.0",
      id: 9,
      error: { code: -32004, message: "Request timed out after 100 ms (the plan's request_timeout_ms); the operation was cancelled" },
    });
    expect(String(aborted)).toContain("timed out after 100 ms");
    await Bun.sleep(1_000);
    await runtime.close();
  });
});
