import { describe, expect, test } from "bun:test";
import { CpuBudget } from "../../src/limits/cpu-budget.ts";
import { FakeTime } from "../helpers/fake-time.ts";

function setup() {
  const time = new FakeTime();
  return { time, cpu: new CpuBudget({ windowMs: 60_000, clock: time.monotonic }) };
}

describe("CpuBudget", () => {
  test("sums the CPU time charged in the trailing window, per tenant", () => {
    const { time, cpu } = setup();
    cpu.charge("acme", 100);
    cpu.charge("acme", 50.5);
    cpu.charge("globex", 7);
    expect(cpu.used("acme")).toBe(150.5);
    expect(cpu.used("globex")).toBe(7);
    expect(cpu.used("nobody")).toBe(0);
    time.advance(30_000);
    cpu.charge("acme", 10);
    expect(cpu.used("acme")).toBe(160.5);
    // The first charges age out a window after their one-second slot.
    time.advance(31_000);
    expect(cpu.used("acme")).toBe(10);
    time.advance(30_000);
    expect(cpu.used("acme")).toBe(0);
  });

  test.each([
    ["under the budget", [[0, 999]], 1000, { ok: true }],
    ["exactly at the budget", [[0, 1000]], 1000, { ok: false, retryAfterMs: 61_000 }],
    ["over it in one burst", [[0, 5000]], 1000, { ok: false, retryAfterMs: 61_000 }],
    // 600 at t=0 and 600 at t=20 s: dropping the first leaves 600 < 1000, at 61 s, i.e. 41 s from now.
    ["over it in two parts", [[0, 600], [20_000, 600]], 1000, { ok: false, retryAfterMs: 41_000 }],
    // Both must age out: only the second leaving brings it under.
    ["far over it", [[0, 600], [20_000, 1600]], 1000, { ok: false, retryAfterMs: 61_000 }],
  ] as const)("check: %s", (_, charges, budget, verdict) => {
    const { time, cpu } = setup();
    let at = 0;
    for (const [when, ms] of charges) {
      time.advance(when - at);
      at = when;
      cpu.charge("acme", ms);
    }
    expect(cpu.check("acme", budget)).toMatchObject(verdict);
  });

  test("the retry time it gives is when the tenant is admitted again, not sooner", () => {
    const { time, cpu } = setup();
    cpu.charge("acme", 700);
    time.advance(5_500);
    cpu.charge("acme", 700);
    const verdict = cpu.check("acme", 1000);
    if (verdict.ok) throw new Error("expected a refusal");
    time.advance(verdict.retryAfterMs - 1);
    expect(cpu.check("acme", 1000).ok).toBe(false);
    time.advance(1);
    expect(cpu.check("acme", 1000).ok).toBe(true);
  });

  test("ignores nonsense charges and forgets idle tenants", () => {
    const { time, cpu } = setup();
    for (const ms of [-5, 0, Number.NaN, Number.POSITIVE_INFINITY]) cpu.charge("acme", ms);
    expect(cpu.used("acme")).toBe(0);
    for (let i = 0; i < 100; i++) cpu.charge(`t${i}`, 1);
    expect(cpu.size).toBe(100);
    time.advance(61_001);
    cpu.charge("last", 1);
    expect(cpu.size).toBe(1);
  });

  test("a wall-clock step changes nothing: it reads only the monotonic clock", () => {
    const { time, cpu } = setup();
    cpu.charge("acme", 2000);
    time.stepWall(3_600_000);
    expect(cpu.check("acme", 1000).ok).toBe(false);
    time.stepWall(-3_750_000);
    time.advance(61_000);
    expect(cpu.check("acme", 1000).ok).toBe(true);
  });
});
