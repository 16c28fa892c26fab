import { afterAll, describe, expect, test } from "bun:test";
import { configSchema } from "../../src/config/schema.ts";
import type { RefusalKind } from "../../src/audit/refusal-counter.ts";
import { Admission, type Admitted, type CatalogueTool } from "../../src/limits/admission.ts";
import { CpuBudget } from "../../src/limits/cpu-budget.ts";
import { InProcessRateLimiter } from "../../src/limits/rate-limiter.ts";
import { buildCatalogue } from "../../src/mcp/server.ts";
import { UsageMeter } from "../../src/metering/usage-meter.ts";
import { usageReport } from "../../src/metering/usage-report.ts";
import { openControl } from "../../src/store/control/db.ts";
import type { TenantRow } from "../../src/store/control/schema.ts";
import { FakeTime } from "../helpers/fake-time.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const tenant = (overrides: Record<string, number> = {}, id = "acme"): TenantRow => ({ id, name: id, plan: "free", status: "active", overrides, createdAt: 0, updatedAt: 0, wrappedKey: null, isolation: "file" });

async function setup(wallStart = Date.UTC(2026, 10, 15, 12), limits: Record<string, unknown> = {}) {
  const time = new FakeTime(wallStart);
  const config = configSchema.parse({ limits });
  const control = await openControl(tempDir(), { synchronous: "NORMAL", busyTimeoutMs: 1000 });
  const meter = new UsageMeter({ control, clock: time.wall, monotonic: time.monotonic, timers: time.timers });
  const cpu = new CpuBudget({ windowMs: config.limits.window_ms, clock: time.monotonic });
  const tools = new Map<string, CatalogueTool>(buildCatalogue(config).tools.map((t) => [t.name, t]));
  const refusals: { tenant: string; kind: RefusalKind }[] = [];
  const admission = new Admission({
    config,
    limiter: new InProcessRateLimiter(time.monotonic),
    meter,
    clock: time.wall,
    tools,
    cpu,
    timers: time.timers,
    onRefused: (t, kind) => refusals.push({ tenant: t, kind }),
  });
  return { admission, meter, control, config, time, cpu, refusals };
}

const getDoc = { method: "tools/call", tool: "get_document", args: { id: "doc_1" } } as const;

async function admitted(admission: Admission, request: Parameters<Admission["admit"]>[0]): Promise<Admitted> {
  const result = await admission.admit(request);
  if (!result.ok) throw new Error(`refused: ${result.message}`);
  result.release();
  return result;
}

describe("Admission", () => {
  test("the monthly tool-call quota stops calls with a clear error, and resets with the (wall-clock) month", async () => {
    const { admission, time } = await setup(Date.UTC(2026, 10, 30, 23, 0));
    const t = tenant({ monthly_tool_calls: 3, rate_limit_per_minute: 1000 });
    for (let i = 0; i < 3; i++) await admitted(admission, { tenant: t, ...getDoc });
    const denied = await admission.admit({ tenant: t, ...getDoc });
    expect(denied.ok).toBe(false);
    if (denied.ok) return;
    expect(denied.status).toBe(429);
    expect(denied.code).toBe(-32010);
    expect(denied.message).toBe("Monthly tool-call quota reached: 3 of 3 calls used in 2026-11; it resets at 2026-12-01T00:00:00.000Z");
    expect(denied.data).toMatchObject({ quota: "monthly_tool_calls", limit: 3, used: 3, resets_at: "2026-12-01T00:00:00.000Z", retryAfterSeconds: 3600 });
    // list calls are not tool calls: never blocked by the tool-call quota
    expect((await admission.admit({ tenant: t, method: "tools/list", tool: null })).ok).toBe(true);
    time.stepWall(3600_000 + 1);
    expect((await admission.admit({ tenant: t, ...getDoc })).ok).toBe(true);
  });

  test.each([
    ["tools/call", "get_document", "rate_limit_per_minute", 1],
    ["resources/read", null, "rate_limit_per_minute", 1],
    ["tools/list", null, "discovery_per_minute", 1],
    ["resources/list", null, "discovery_per_minute", 1],
    ["resources/templates/list", null, "discovery_per_minute", 1],
    ["prompts/list", null, "discovery_per_minute", 1],
    ["server/discover", null, "discovery_per_minute", 1],
    ["ping", null, "discovery_per_minute", 1],
    ["initialize", null, "discovery_per_minute", 1],
    ["notifications/initialized", null, "discovery_per_minute", 1],
    ["subscriptions/listen", null, "discovery_per_minute", 1],
    ["an/invented-method", null, "discovery_per_minute", 1],
  ] as const)("every method has a cost: %s (tool %s) spends %s", async (method, tool, budget, units) => {
    const { admission } = await setup();
    expect(admission.costOf(method, tool)).toEqual({ budget, units });
  });

  test("weights: tool weights override method weights", async () => {
    const { admission, config } = await setup();
    config.limits.tool_weights = { search_documents: 3 };
    const t = tenant({ rate_limit_per_minute: 4, max_concurrency: 100 });
    expect(admission.weightOf("tools/call", "search_documents")).toBe(3);
    expect(admission.weightOf("tools/call", "get_document")).toBe(1);
    const first = await admitted(admission, { tenant: t, method: "tools/call", tool: "search_documents", args: { query: "a" } });
    expect(first.headers).toEqual({ "ratelimit-policy": '"tenant";q=4;w=60', ratelimit: '"tenant";r=1;t=60' });
    expect((await admission.admit({ tenant: t, method: "tools/call", tool: "search_documents", args: { query: "a" } })).ok).toBe(false);
    expect((await admission.admit({ tenant: t, ...getDoc })).ok).toBe(true);
  });

  test("discovery calls have their own budget: hammering tools/list ends in 429 and never spends tool calls", async () => {
    const { admission, refusals } = await setup();
    const t = tenant({ discovery_per_minute: 5, rate_limit_per_minute: 2, max_concurrency: 100 });
    const first = await admitted(admission, { tenant: t, method: "tools/list", tool: null });
    expect(first.headers).toEqual({ "ratelimit-policy": '"discovery";q=5;w=60', ratelimit: '"discovery";r=4;t=60' });
    for (let i = 0; i < 4; i++) await admitted(admission, { tenant: t, method: i % 2 ? "ping" : "resources/list", tool: null });
    const denied = await admission.admit({ tenant: t, method: "tools/list", tool: null });
    expect(denied.ok).toBe(false);
    if (denied.ok) return;
    expect(denied.status).toBe(429);
    expect(denied.headers["retry-after"]).toBe("60");
    expect(denied.message).toBe("Discovery rate limit exceeded: 5 discovery and list calls (tools/list, resources/list, ping, …) per 60 s for tenant acme; retry after 60 s");
    expect(denied.data).toMatchObject({ budget: "discovery_per_minute", limit: 5, retryAfterSeconds: 60 });
    expect(refusals).toEqual([{ tenant: "acme", kind: "discovery_limited" }]);
    // The call budget is untouched, and another tenant's discovery budget too.
    await admitted(admission, { tenant: t, ...getDoc });
    await admitted(admission, { tenant: t, ...getDoc });
    await admitted(admission, { tenant: tenant({ discovery_per_minute: 5 }, "globex"), method: "tools/list", tool: null });
  });

  test("the concurrency cap refuses the excess without spending rate-limit units", async () => {
    const { admission } = await setup(undefined, { concurrency_wait_ms: 0 });
    const t = tenant({ max_concurrency: 2, rate_limit_per_minute: 3 });
    const a = await admission.admit({ tenant: t, ...getDoc });
    const b = await admission.admit({ tenant: t, ...getDoc });
    const c = await admission.admit({ tenant: t, ...getDoc });
    expect([a.ok, b.ok, c.ok]).toEqual([true, true, false]);
    if (!c.ok) expect(c.message).toBe("Too many concurrent requests: tenant acme may have 2 in flight; retry after 1 s");
    if (a.ok) a.release();
    const d = await admission.admit({ tenant: t, ...getDoc });
    expect(d.ok).toBe(true);
    expect(admission.inFlight("acme")).toBe(2);
  });

  test("a request over the concurrency cap waits concurrency_wait_ms on the monotonic clock, then is refused", async () => {
    const { admission, time } = await setup(undefined, { concurrency_wait_ms: 500 });
    const t = tenant({ max_concurrency: 1 });
    const holder = await admission.admit({ tenant: t, ...getDoc });
    if (!holder.ok) throw new Error("first request refused");
    // A wall-clock step changes nothing: only monotonic time ends a wait.
    const waiting = admission.admit({ tenant: t, ...getDoc });
    time.stepWall(3_600_000);
    time.advance(499);
    holder.release();
    const woken = await waiting;
    expect(woken.ok).toBe(true);
    const late = admission.admit({ tenant: t, ...getDoc });
    time.stepWall(-150_000);
    time.advance(500);
    expect((await late).ok).toBe(false);
  });

  test("subscriptions/listen streams count per tenant against max_streams until they end", async () => {
    const { admission, refusals } = await setup();
    const t = tenant({ max_streams: 2, max_concurrency: 10 });
    const listen = { tenant: t, method: "subscriptions/listen", tool: null };
    const a = await admitted(admission, listen);
    const b = await admitted(admission, listen);
    // Their concurrency slots are free (streams are idle most of the time); their stream slots are not.
    expect(admission.inFlight("acme")).toBe(0);
    expect(admission.openStreams("acme")).toBe(2);
    const c = await admission.admit(listen);
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.status).toBe(429);
    expect(c.headers["retry-after"]).toBe("5");
    expect(c.message).toContain("Too many open streams: tenant acme may keep 2 subscriptions/listen streams open (the plan's max_streams)");
    expect(refusals.map((r) => r.kind)).toEqual(["streams_limited"]);
    // Calls still go through, and so does another tenant's stream.
    await admitted(admission, { tenant: t, ...getDoc });
    const other = await admitted(admission, { tenant: tenant({ max_streams: 2 }, "globex"), method: "subscriptions/listen", tool: null });
    a.endStream!();
    a.endStream!();
    expect(admission.openStreams("acme")).toBe(1);
    expect((await admission.admit(listen)).ok).toBe(true);
    other.endStream!();
    b.endStream!();
    expect(admission.openStreams("globex")).toBe(0);
  });

  test("the CPU budget refuses a tenant over cpu_ms_per_minute with 429 and Retry-After until its usage ages out", async () => {
    const { admission, cpu, time, refusals } = await setup();
    const t = tenant({ cpu_ms_per_minute: 1_000 });
    cpu.charge("acme", 600);
    await admitted(admission, { tenant: t, ...getDoc });
    time.advance(10_000);
    cpu.charge("acme", 500);
    const denied = await admission.admit({ tenant: t, ...getDoc });
    expect(denied.ok).toBe(false);
    if (denied.ok) return;
    expect(denied.status).toBe(429);
    // The 600 ms charged 10 s ago leave the window in 50 s (to within its one-second slot).
    expect(denied.headers["retry-after"]).toBe("51");
    expect(denied.message).toBe("CPU budget exceeded: tenant acme used 1100 ms of CPU in the last 60 s, its plan's cpu_ms_per_minute is 1000; retry after 51 s");
    expect(denied.data).toMatchObject({ budget: "cpu_ms_per_minute", limit: 1000, usedMs: 1100, retryAfterSeconds: 51 });
    expect(refusals.map((r) => r.kind)).toEqual(["cpu_limited"]);
    // Another tenant is not affected; a wall-clock step does not end the penalty, real time does.
    await admitted(admission, { tenant: tenant({ cpu_ms_per_minute: 1_000 }, "globex"), ...getDoc });
    time.stepWall(3_600_000);
    expect((await admission.admit({ tenant: t, ...getDoc })).ok).toBe(false);
    time.advance(51_000);
    expect((await admission.admit({ tenant: t, ...getDoc })).ok).toBe(true);
  });

  test.each([
    ["an invented tool name", { tool: "no_such_tool", args: {} }, "unknown_tool"],
    ["a tool outside the caller's scopes", { tool: "delete_document", args: { id: "d" }, scopes: ["documents:read"] }, "unknown_tool"],
    ["missing required arguments", { tool: "get_document", args: {} }, "invalid_arguments"],
    ["arguments of the wrong type", { tool: "create_document", args: { title: 5, content: "x" } }, "invalid_arguments"],
    ["no arguments at all", { tool: "search_documents", args: undefined }, "invalid_arguments"],
  ] as const)("a call that cannot reach a tool (%s) is not billed, only counted as a refusal", async (_, call, kind) => {
    const { admission, meter, refusals } = await setup();
    const t = tenant({ monthly_tool_calls: 1, rate_limit_per_minute: 2 });
    await admitted(admission, { tenant: t, method: "tools/call", ...call });
    expect(meter.pendingFor("acme", meter.currentMonth())).toEqual({});
    expect(refusals).toEqual([{ tenant: "acme", kind }]);
    // It spent no quota (the one allowed call still goes through), but it did spend a rate unit.
    await admitted(admission, { tenant: t, ...getDoc });
    expect(meter.pendingFor("acme", meter.currentMonth())).toEqual({ tool_calls: 1, "tool:get_document": 1 });
    expect((await admission.admit({ tenant: t, method: "tools/call", ...call })).ok).toBe(false);
  });

  test("refusals before admission (403) cost what the request would have: hammering them ends in 429", async () => {
    const { admission } = await setup();
    const t = tenant({ rate_limit_per_minute: 3, discovery_per_minute: 2 });
    const charges = [];
    for (let i = 0; i < 4; i++) charges.push(await admission.chargeRefusal(t, "tools/call", "delete_document"));
    expect(charges.slice(0, 3)).toEqual([null, null, null]);
    expect(charges[3]).toMatchObject({ status: 429, data: { budget: "rate_limit_per_minute", limit: 3 } });
    expect(charges[3]!.headers["retry-after"]).toBe("60");
    // Discovery refusals spend the discovery budget.
    expect(await admission.chargeRefusal(t, "resources/list", null)).toBeNull();
    expect(await admission.chargeRefusal(t, "resources/list", null)).toBeNull();
    expect((await admission.chargeRefusal(t, "resources/list", null))?.status).toBe(429);
  });

  test.each([
    ["forward 1 h", 3_600_000],
    ["back 150 s", -150_000],
  ])("a wall-clock step %s neither refills the window nor locks the tenant out", async (_, step) => {
    const { admission, time } = await setup();
    const t = tenant({ rate_limit_per_minute: 5 });
    for (let i = 0; i < 5; i++) await admitted(admission, { tenant: t, ...getDoc });
    time.stepWall(step);
    expect((await admission.admit({ tenant: t, ...getDoc })).ok).toBe(false);
    time.advance(60_000);
    for (let i = 0; i < 5; i++) await admitted(admission, { tenant: t, ...getDoc });
    expect((await admission.admit({ tenant: t, ...getDoc })).ok).toBe(false);
  });

  test("the meter's counts reach the report exactly, pending or flushed", async () => {
    const { admission, meter, control, config } = await setup(Date.UTC(2026, 10, 5));
    const t = tenant({ max_concurrency: 1000, rate_limit_per_minute: 1000 });
    for (let i = 0; i < 7; i++) {
      const r = await admission.admit({ tenant: t, method: "tools/call", ...(i < 5 ? { tool: "get_document", args: { id: "d" } } : { tool: "search_documents", args: { query: "q" } }) });
      if (r.ok) r.release();
    }
    meter.add("acme", "searches", 2);
    const pending = await usageReport({ control, pricing: config.pricing, month: "2026-11", tenant: "acme", meter });
    expect(pending[0]).toMatchObject({ tool_calls: 7, searches: 2, tools: { get_document: 5, search_documents: 2 }, estimated_cost: 0.017 });
    await meter.flush();
    const flushed = await usageReport({ control, pricing: config.pricing, month: "2026-11" });
    expect(flushed).toHaveLength(1);
    expect(flushed[0]).toMatchObject({ tenant: "acme", tool_calls: 7, searches: 2, estimated_cost: 0.017, currency: "USD" });
  });
});
