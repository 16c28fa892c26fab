import { afterAll, describe, expect, test } from "bun:test";
import type { JSONRPCMessage, Transport } from "@modelcontextprotocol/server";
import { configSchema } from "../../src/config/schema.ts";
import { Admission, type CatalogueTool } from "../../src/limits/admission.ts";
import { InProcessRateLimiter } from "../../src/limits/rate-limiter.ts";
import { AdmittingTransport } from "../../src/mcp/admitting-transport.ts";
import { StdioGate } from "../../src/mcp/stdio-gate.ts";
import { allScopes, type Scope } from "../../src/auth/scopes.ts";
import type { TenantContext } from "../../src/tenancy/context.ts";
import { buildCatalogue } from "../../src/mcp/server.ts";
import { UsageMeter } from "../../src/metering/usage-meter.ts";
import { openControl } from "../../src/store/control/db.ts";
import type { TenantRow } from "../../src/store/control/schema.ts";
import { FakeTime } from "../helpers/fake-time.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

/** The stdio side of the wrapper: records what is sent, lets the test deliver inbound messages. */
class FakeInner implements Transport {
  sent: any[] = [];
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  async start() {}
  async send(message: JSONRPCMessage) {
    this.sent.push(message);
  }
  async close() {}
}

async function setup(overrides: Record<string, number>, scopes?: string[]) {
  const time = new FakeTime();
  // Refuse at once over the concurrency cap: these tests are about slots, not about waiting for one.
  const config = configSchema.parse({ limits: { concurrency_wait_ms: 0 } });
  const control = await openControl(tempDir(), { synchronous: "NORMAL", busyTimeoutMs: 1000 });
  const meter = new UsageMeter({ control, clock: time.wall, monotonic: time.monotonic, timers: time.timers });
  const tools = new Map<string, CatalogueTool>(buildCatalogue(config).tools.map((t) => [t.name, t]));
  const admission = new Admission({ config, limiter: new InProcessRateLimiter(time.monotonic), meter, clock: time.wall, tools });
  const tenant: TenantRow = { id: "acme", name: "acme", plan: "free", status: "active", overrides, createdAt: 0, updatedAt: 0, wrappedKey: null, isolation: "file" };
  const inner = new FakeInner();
  const principal = { tenantId: "acme", subject: "key_1", kind: "api_key" as const, scopes: (scopes ?? [...allScopes]) as Scope[] };
  const gate = new StdioGate({
    config,
    authenticate: async () => ({ tenant, principal }),
    admitter: () => admission,
    toolScopes: new Map(buildCatalogue(config).tools.map((t) => [t.name, t.scope as Scope])),
    contextFor: (_auth, plan, signal) => ({ principal, tenant, plan, signal }) as unknown as TenantContext,
  });
  const transport = new AdmittingTransport(inner, gate);
  const delivered: any[] = [];
  transport.onmessage = (message) => delivered.push(message);
  const receive = async (message: Record<string, unknown>) => {
    inner.onmessage!({ jsonrpc: "2.0", ...message } as JSONRPCMessage);
    await Bun.sleep(5);
  };
  return { admission, meter, inner, transport, delivered, receive };
}

describe("AdmittingTransport (stdio)", () => {
  test("listen streams hold a stream slot, not a concurrency slot, until their final response or a cancellation", async () => {
    const { admission, inner, transport, delivered, receive } = await setup({ max_streams: 1, max_concurrency: 1 });
    await receive({ id: 1, method: "subscriptions/listen", params: { notifications: { toolsListChanged: true } } });
    expect(delivered.map((m) => m.id)).toEqual([1]);
    expect([admission.inFlight("acme"), admission.openStreams("acme")]).toEqual([0, 1]);
    await receive({ id: 2, method: "subscriptions/listen", params: { notifications: { toolsListChanged: true } } });
    expect(inner.sent.at(-1)).toMatchObject({ id: 2, error: { code: -32010 } });
    expect(inner.sent.at(-1).error.message).toContain("Too many open streams");
    // A call still gets the one concurrency slot.
    await receive({ id: 3, method: "tools/call", params: { name: "list_documents", arguments: {} } });
    expect(delivered.map((m) => m.id)).toEqual([1, 3]);
    await transport.send({ jsonrpc: "2.0", id: 3, result: {} } as JSONRPCMessage);
    expect(admission.inFlight("acme")).toBe(0);
    await receive({ method: "notifications/cancelled", params: { requestId: 1 } });
    expect(admission.openStreams("acme")).toBe(0);
    await receive({ id: 4, method: "subscriptions/listen", params: { notifications: { toolsListChanged: true } } });
    expect(admission.openStreams("acme")).toBe(1);
    await transport.send({ jsonrpc: "2.0", id: 4, result: {} } as JSONRPCMessage);
    expect(admission.openStreams("acme")).toBe(0);
  });

  test("a cancelled request (which the SDK never answers) gives its concurrency slot back", async () => {
    const { admission, inner, receive } = await setup({ max_concurrency: 1 });
    await receive({ id: 1, method: "tools/call", params: { name: "list_documents", arguments: {} } });
    await receive({ id: 2, method: "tools/call", params: { name: "list_documents", arguments: {} } });
    expect(inner.sent.at(-1)).toMatchObject({ id: 2, error: { code: -32010 } });
    await receive({ method: "notifications/cancelled", params: { requestId: 1 } });
    expect(admission.inFlight("acme")).toBe(0);
    await receive({ id: 3, method: "tools/call", params: { name: "list_documents", arguments: {} } });
    expect(admission.inFlight("acme")).toBe(1);
  });

  test("unknown tools, tools outside the caller's scopes and invalid arguments are not billed over stdio either", async () => {
    const { meter, inner, delivered, receive } = await setup({}, ["documents:read"]);
    await receive({ id: 1, method: "tools/call", params: { name: "made_up", arguments: {} } });
    await receive({ id: 2, method: "tools/call", params: { name: "create_document", arguments: { title: "t", content: "c" } } });
    await receive({ id: 3, method: "tools/call", params: { name: "get_document", arguments: { id: 7 } } });
    await receive({ id: 4, method: "tools/call", params: { name: "get_document", arguments: { id: "doc_1" } } });
    // A tool outside the scopes is refused by the gate, as on HTTP (403, -32003); the others reach the SDK
    // (which answers the errors); only the valid call is billed.
    expect(delivered.map((m) => m.id)).toEqual([1, 3, 4]);
    expect(inner.sent.find((m) => m.id === 2)).toMatchObject({ error: { code: -32003 } });
    expect(meter.pendingFor("acme", meter.currentMonth())).toEqual({ tool_calls: 1, "tool:get_document": 1 });
  });
});
