/** Failed-authentication limiting: per (address, key id), a global budget, and never a valid key refused. */
import { describe, expect, test } from "bun:test";
import { AuthFailureLimiter, claimedKeyId } from "../../src/http/auth-failures.ts";
import { forwardedAddress } from "../../src/http/client-address.ts";

const key = (id: string) => `mcpmt_${id}_${"A".repeat(49)}`;

describe("claimed key id", () => {
  const cases: [string | null, string][] = [
    [key("abcdefghijkl"), "key:abcdefghijkl"],
    ["mcpmt_guess", "-"],
    [null, "-"],
    ["garbage", "-"],
    [`eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: "alice" })).toString("base64url")}.sig`, "jwt:alice"],
    ["a.b.c", "-"],
  ];
  for (const [credential, expected] of cases) test(`${String(credential).slice(0, 30)} → ${expected}`, () => expect(claimedKeyId(credential)).toBe(expected));
});

describe("AuthFailureLimiter", () => {
  test("20 failures refuse that key id from that address only; other keys, other addresses untouched; a minute later it is free again", () => {
    let now = 0;
    const limiter = new AuthFailureLimiter({ perMinute: 20, globalPerMinute: 1_000, clock: () => now });
    for (let i = 0; i < 20; i++) {
      expect(limiter.refusal("203.0.113.1", "key:bad")).toBeNull();
      limiter.fail("203.0.113.1", "key:bad");
    }
    expect(limiter.refusal("203.0.113.1", "key:bad")).toBeGreaterThan(0);
    expect(limiter.refusal("203.0.113.1", "key:good")).toBeNull();
    expect(limiter.refusal("203.0.113.2", "key:bad")).toBeNull();
    now += 120_000;
    expect(limiter.refusal("203.0.113.1", "key:bad")).toBeNull();
  });

  test("over the global budget an (address, key id) that failed once is refused, new pairs are no longer tracked, clean keys still checked", () => {
    let now = 0;
    const limiter = new AuthFailureLimiter({ perMinute: 20, globalPerMinute: 100, clock: () => now });
    limiter.fail("203.0.113.9", "key:once");
    for (let i = 0; i < 100; i++) limiter.fail(`198.51.100.${i % 250}`, `key:spray${i}`);
    expect(limiter.overBudget).toBe(true);
    expect(limiter.refusal("203.0.113.9", "key:once")).toBeGreaterThan(0);
    expect(limiter.refusal("203.0.113.9", "key:valid")).toBeNull();
    const tracked = limiter.tracked;
    for (let i = 0; i < 1_000; i++) limiter.fail("192.0.2.1", `key:more${i}`);
    expect(limiter.tracked).toBe(tracked);
    now += 180_000;
    expect(limiter.overBudget).toBe(false);
    limiter.sweep();
    expect(limiter.tracked).toBe(0);
  });
});

describe("X-Forwarded-For", () => {
  const cases: [string | undefined, string | null][] = [
    ["203.0.113.7", "203.0.113.7"],
    ["10.0.0.1, 203.0.113.7", "203.0.113.7"],
    ["2001:DB8::1", "2001:db8::1"],
    ["[2001:db8::1]", "2001:db8::1"],
    ["203.0.113.7, not-an-ip", null],
    ["203.0.113.7:8080", null],
    ["x".repeat(500_000), null],
    ["", null],
    [undefined, null],
  ];
  for (const [header, expected] of cases) test(`${String(header).slice(0, 30)} → ${expected}`, () => expect(forwardedAddress(header)).toBe(expected));
});
