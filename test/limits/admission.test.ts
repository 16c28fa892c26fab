import { afterAll, describe, expect, test } from "bun:test";
import { configSchema } from "../../src/config/schema.ts";
import { Admission } from "../../src/limits/admission.ts";
import { InProcessRateLimiter } from "../../src/limits/rate-limiter.ts";
import { UsageMeter } from "../../src/metering/usage-meter.ts";
import { usageReport } from "../../src/metering/usage-report.ts";
import { openControl } from "../../src/store/control/db.ts";
import type { TenantRow } from "../../src/store/control/schema.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const tenant = (overrides: Record<string, number> = {}): TenantRow => ({ id: "acme", name: "acme", plan: "free", status: "active", overrides, createdAt: 0, updatedAt: 0, wrappedKey: null });

async function setup(start: number) {
  let now = start;
  const clock = () => now;
  const config = configSchema.parse({});
  const control = await openControl(tempDir(), { synchronous: "NORMAL", busyTimeoutMs: 1000 });
  const meter = new UsageMeter({ control, clock });
  const admission = new Admission({ config, limiter: new InProcessRateLimiter(clock), meter, clock });
  return { admission, meter, control, config, advance: (ms: number) => (now += ms), set: (ms: number) => (now = ms) };
}

describe("Admission", () => {
  test("the monthly tool-call quota stops calls with a clear error, and resets with the month", async () => {
    const { admission, set } = await setup(Date.UTC(2026, 10, 30, 23, 0));
    const t = tenant({ monthly_tool_calls: 3, rate_limit_per_minute: 1000 });
    for (let i = 0; i < 3; i++) {
      const ok = await admission.admit({ tenant: t, method: "tools/call", tool: "get_document" });
      expect(ok.ok).toBe(true);
      if (ok.ok) ok.release();
    }
    const denied = await admission.admit({ tenant: t, method: "tools/call", tool: "get_document" });
    expect(denied.ok).toBe(false);
    if (denied.ok) return;
    expect(denied.status).toBe(429);
    expect(denied.code).toBe(-32010);
    expect(denied.message).toBe("Monthly tool-call quota reached: 3 of 3 calls used in 2026-11; it resets at 2026-12-01T00:00:00.000Z");
    expect(denied.data).toMatchObject({ quota: "monthly_tool_calls", limit: 3, used: 3, resets_at: "2026-12-01T00:00:00.000Z", retryAfterSeconds: 3600 });
    // list calls are not tool calls: never blocked by the tool-call quota
    expect((await admission.admit({ tenant: t, method: "tools/list", tool: null })).ok).toBe(true);
    set(Date.UTC(2026, 11, 1, 0, 0, 1));
    expect((await admission.admit({ tenant: t, method: "tools/call", tool: "get_document" })).ok).toBe(true);
  });

  test("weights: tool weights override method weights; free methods never lock a client out", async () => {
    const { admission, config } = await setup(Date.UTC(2026, 10, 1));
    config.limits.tool_weights = { search_documents: 3 };
    const t = tenant({ rate_limit_per_minute: 4, max_concurrency: 100 });
    expect(admission.weightOf("tools/call", "search_documents")).toBe(3);
    expect(admission.weightOf("tools/call", "get_document")).toBe(1);
    expect(admission.weightOf("tools/list", null)).toBe(0);
    expect(admission.weightOf("server/discover", null)).toBe(0);
    const first = await admission.admit({ tenant: t, method: "tools/call", tool: "search_documents" });
    expect(first.ok && first.headers).toEqual({ "ratelimit-policy": '"tenant";q=4;w=60', ratelimit: '"tenant";r=1;t=60' });
    const second = await admission.admit({ tenant: t, method: "tools/call", tool: "search_documents" });
    expect(second.ok).toBe(false);
    expect((await admission.admit({ tenant: t, method: "tools/call", tool: "get_document" })).ok).toBe(true);
    for (let i = 0; i < 50; i++) expect((await admission.admit({ tenant: t, method: "tools/list", tool: null })).ok).toBe(true);
  });

  test("the concurrency cap refuses the excess without spending rate-limit units", async () => {
    const { admission } = await setup(Date.UTC(2026, 10, 1));
    const t = tenant({ max_concurrency: 2, rate_limit_per_minute: 3 });
    const a = await admission.admit({ tenant: t, method: "tools/call", tool: "x" });
    const b = await admission.admit({ tenant: t, method: "tools/call", tool: "x" });
    const c = await admission.admit({ tenant: t, method: "tools/call", tool: "x" });
    expect([a.ok, b.ok, c.ok]).toEqual([true, true, false]);
    if (!c.ok) expect(c.message).toBe("Too many concurrent requests: tenant acme may have 2 in flight; retry after 1 s");
    if (a.ok) a.release();
    const d = await admission.admit({ tenant: t, method: "tools/call", tool: "x" });
    expect(d.ok).toBe(true);
    expect(admission.inFlight("acme")).toBe(2);
  });

  test("the meter's counts reach the report exactly, pending or flushed", async () => {
    const { admission, meter, control, config } = await setup(Date.UTC(2026, 10, 5));
    const t = tenant({ max_concurrency: 1000, rate_limit_per_minute: 1000 });
    for (let i = 0; i < 7; i++) {
      const r = await admission.admit({ tenant: t, method: "tools/call", tool: i < 5 ? "get_document" : "search_documents" });
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
