/** Monthly quotas across instances: several Admissions (one per "instance", each with its own meter and control connection) on one Redis. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { configSchema } from "../../src/config/schema.ts";
import { Admission, type CatalogueTool } from "../../src/limits/admission.ts";
import { InProcessRateLimiter } from "../../src/limits/rate-limiter.ts";
import { RedisConnection } from "../../src/limits/redis-connection.ts";
import { RedisQuota } from "../../src/limits/redis-quota.ts";
import { buildCatalogue } from "../../src/mcp/server.ts";
import { events, UsageMeter } from "../../src/metering/usage-meter.ts";
import { openControl } from "../../src/store/control/db.ts";
import type { TenantRow } from "../../src/store/control/schema.ts";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
  cleanupTempDirs();
});

const config = configSchema.parse({ limits: { concurrency_wait_ms: 0 } });
const tools = new Map<string, CatalogueTool>(buildCatalogue(config).tools.map((t) => [t.name, t]));
const tenant = (id: string, quota: number, rate = 100_000): TenantRow => ({ id, name: id, plan: "free", status: "active", overrides: { monthly_tool_calls: quota, rate_limit_per_minute: rate, max_concurrency: 100_000 }, createdAt: 0, updatedAt: 0, wrappedKey: null, isolation: "file" });
const getDoc = { method: "tools/call", tool: "get_document", args: { id: "doc_1" } } as const;

type Instance = { admission: Admission; meter: UsageMeter; connection: RedisConnection | null; close(): Promise<void> };

/** One instance: its own control-plane connection, meter, limiter, and (shared: true) its own Redis connection. */
async function instance(dir: string, shared: boolean, failureMode: "open" | "closed" = "open"): Promise<Instance> {
  const control = await openControl(dir, { synchronous: "NORMAL", busyTimeoutMs: 5000 });
  const meter = new UsageMeter({ control, clock: Date.now });
  const connection = shared ? new RedisConnection({ url: redis.url, timeoutMs: 2000 }) : null;
  const admission = new Admission({ config, limiter: new InProcessRateLimiter(), meter, clock: Date.now, tools, quota: connection ? new RedisQuota(connection) : undefined, failureMode });
  return {
    admission,
    meter,
    connection,
    async close() {
      await meter.stop();
      connection?.close();
      control.client.close();
    },
  };
}

/** `n` instances on one control plane (opened one after the other: the first creates it). */
async function instances(dir: string, shared: boolean, n: number): Promise<Instance[]> {
  const out: Instance[] = [];
  for (let i = 0; i < n; i++) out.push(await instance(dir, shared));
  return out;
}

/** Sends `total` calls round-robin over the instances, all at once; returns how many were admitted. */
async function burst(instances: Instance[], t: TenantRow, total: number): Promise<{ admitted: number; statuses: number[] }> {
  const results = await Promise.all(Array.from({ length: total }, (_, i) => instances[i % instances.length]!.admission.admit({ tenant: t, ...getDoc })));
  for (const r of results) if (r.ok) r.release();
  return { admitted: results.filter((r) => r.ok).length, statuses: results.map((r) => (r.ok ? 200 : r.status)) };
}

describe("monthly quota shared through Redis", () => {
  test("without Redis, per-instance totals over-admit (the problem); with Redis, three instances admit exactly the quota", async () => {
    const dir = tempDir();
    const local = await instances(dir, false, 3);
    const before = await burst(local, tenant("local", 300), 1_500);
    // Each instance only knows its own count: up to 3 × 300.
    expect(before.admitted).toBeGreaterThan(300);
    console.log(`in-process quotas, 3 instances, quota 300, 1500 calls: ${before.admitted} admitted`);
    await Promise.all(local.map((i) => i.close()));

    const shared = await instances(dir, true, 3);
    const after = await burst(shared, tenant("shared", 300), 1_500);
    expect(after.admitted).toBe(300);
    expect(after.statuses.filter((s) => s === 429).length).toBe(1_200);
    // The meters still count every admitted call once (additive flushes from three instances).
    await Promise.all(shared.map((i) => i.meter.flush()));
    expect(await shared[0]!.meter.durableMonthToDate("shared", events.toolCalls)).toBe(300);
    await Promise.all(shared.map((i) => i.close()));
  });

  test("a missing counter is seeded from the control plane: a Redis flush does not reset the month", async () => {
    const dir = tempDir();
    const [a, b] = await instances(dir, true, 2);
    const t = tenant("seeded", 100);
    expect((await burst([a!, b!], t, 60)).admitted).toBe(60);
    await Promise.all([a!.meter.flush(), b!.meter.flush()]);
    await redis.flush();
    // 60 are durable in the control plane: 40 remain, whichever instance re-seeds the counter.
    expect((await burst([a!, b!], t, 100)).admitted).toBe(40);
    await Promise.all([a!.close(), b!.close()]);
  });

  test("a call the rate window refuses gives its quota unit back", async () => {
    const dir = tempDir();
    const a = await instance(dir, true);
    const t = tenant("refund", 5, 3);
    let admitted = 0;
    for (let i = 0; i < 10; i++) admitted += (await burst([a], t, 1)).admitted;
    expect(admitted).toBe(3);
    const counter = (await a.connection!.send("GET", [`mcp-mt:quota:refund:${a.meter.currentMonth()}:tool_calls`])) as string;
    expect(Number(counter)).toBe(3);
    await a.close();
  });

  test.each([
    ["open", 200],
    ["closed", 503],
  ] as const)("Redis down, failure mode %s: the call gets %i, never a hang", async (mode, status) => {
    const dir = tempDir();
    const a = await instance(dir, true, mode);
    const t = tenant(`down-${mode}`, 100);
    expect((await burst([a], t, 1)).admitted).toBe(1);
    await redis.stop();
    try {
      const down = await burst([a], t, 5);
      expect(down.statuses).toEqual(Array(5).fill(status));
      if (mode === "closed") {
        const denied = await a.admission.admit({ tenant: t, ...getDoc });
        expect(denied.ok ? null : denied.message).toBe("Rate limiter unavailable; retry shortly");
      }
    } finally {
      await redis.start();
    }
    await a.close();
  });
});
