import { afterAll, describe, expect, test } from "bun:test";
import { UsageMeter } from "../../src/metering/usage-meter.ts";
import { usageReport } from "../../src/metering/usage-report.ts";
import { configSchema } from "../../src/config/schema.ts";
import { openControl } from "../../src/store/control/db.ts";
import { FakeTime } from "../helpers/fake-time.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

async function setup() {
  const time = new FakeTime(Date.UTC(2026, 10, 15, 12));
  const control = await openControl(tempDir(), { synchronous: "NORMAL", busyTimeoutMs: 1000 });
  const meter = new UsageMeter({ control, clock: time.wall, monotonic: time.monotonic, timers: time.timers });
  const flushed = async () => (await usageReport({ control, pricing: configSchema.parse({}).pricing, month: "2026-11" }))[0]?.tool_calls ?? 0;
  return { time, meter, flushed };
}

describe("UsageMeter", () => {
  test.each([
    ["no step", 0],
    ["the wall clock stepped back 150 s", -150_000],
    ["the wall clock stepped forward 1 h", 3_600_000],
  ])("flushes every interval on the monotonic clock (%s)", async (_, step) => {
    const { time, meter, flushed } = await setup();
    meter.start(1_000, (error) => {
      throw error;
    });
    meter.add("acme", "tool_calls", 3);
    time.stepWall(step);
    time.advance(999);
    expect(meter.pendingFor("acme", "2026-11")).toEqual({ tool_calls: 3 });
    time.advance(1);
    // The timer's flush took the pending counts; joining it waits for its write.
    expect(meter.pendingFor("acme", "2026-11")).toEqual({});
    await meter.flush();
    expect(await flushed()).toBe(3);
    expect(meter.flushLagMs()).toBe(0);
    time.advance(400);
    expect(meter.flushLagMs()).toBe(400);
    await meter.stop();
  });

  test("the month comes from the wall clock: usage counted after a step into the next month lands there", async () => {
    const { time, meter } = await setup();
    meter.add("acme", "tool_calls");
    time.stepWall(Date.UTC(2026, 11, 1) - time.wall());
    meter.add("acme", "tool_calls", 2);
    expect(meter.pendingFor("acme", "2026-11")).toEqual({ tool_calls: 1 });
    expect(meter.pendingFor("acme", "2026-12")).toEqual({ tool_calls: 2 });
  });

  test("two instances' meters on one control plane add up: flushes are additive upserts, never read-modify-write", async () => {
    const time = new FakeTime(Date.UTC(2026, 10, 15, 12));
    const dir = tempDir();
    const first = await openControl(dir, { synchronous: "NORMAL", busyTimeoutMs: 5000 });
    const second = await openControl(dir, { synchronous: "NORMAL", busyTimeoutMs: 5000 });
    const meters = [first, second].map((control) => new UsageMeter({ control, clock: time.wall, monotonic: time.monotonic, timers: time.timers }));
    // Interleaved rounds of counting and concurrent flushes from both meters, on their own connections.
    for (let round = 0; round < 20; round++) {
      meters[0]!.add("acme", "tool_calls", 3);
      meters[1]!.add("acme", "tool_calls", 5);
      meters[1]!.add("acme", "tool:search", 1);
      await Promise.all(meters.map((m) => m.flush()));
    }
    expect(await meters[0]!.durableMonthToDate("acme", "tool_calls", "2026-11")).toBe(160);
    expect(await meters[1]!.durableMonthToDate("acme", "tool:search", "2026-11")).toBe(20);
    const report = await usageReport({ control: first, pricing: configSchema.parse({}).pricing, month: "2026-11" });
    expect(report[0]?.tool_calls).toBe(160);
    first.client.close();
    second.client.close();
  });
});
