/** Live stats record only known label values: invented methods and tools are "other", strangers only a status. */
import { expect, test } from "bun:test";
import { LiveStats } from "../../src/metering/live-stats.ts";

test("1,000 invented method and tool names add one series each, not 1,000", () => {
  const stats = new LiveStats({ tools: ["list_documents"] });
  stats.record("acme", "tools/call", "list_documents", 200, 1);
  for (let i = 0; i < 1_000; i++) {
    stats.record("acme", `invented/${i}`, null, 404, 1);
    stats.record("acme", "tools/call", `invented_${i}`, 200, 1);
    stats.record(null, `stranger/${i}`, `tool_${i}`, 401, 1);
  }
  expect([...stats.requests.keys()].map((key) => key.split("\u0000").join("|")).sort()).toEqual(["acme|other||404", "acme|tools/call|list_documents|200", "acme|tools/call|other|200", "|||401"]);
  expect(stats.durations.size).toBe(3);
  expect(stats.tenants()).toEqual(["acme"]);
});

test("the last minute's figures roll over on the monotonic clock; a wall-clock step moves nothing", () => {
  let mono = 1_000_000;
  let wall = Date.UTC(2026, 10, 1);
  const stats = new LiveStats({ clock: () => wall, monotonic: () => mono });
  stats.record("acme", "tools/call", null, 200, 1);
  stats.record("acme", "tools/call", null, 429, 1);
  mono += 30_000;
  stats.record("acme", "tools/call", null, 500, 1);
  // The wall clock jumping an hour either way changes neither the window nor the uptime.
  wall += 3_600_000;
  expect(stats.figures("acme")).toMatchObject({ requests_per_minute: 3, rate_limited_per_minute: 1, errors_per_minute: 1 });
  wall -= 7_200_000;
  expect(stats.uptimeMs()).toBe(30_000);
  // 61 s after the first two: only the one 31 s ago is left in the last minute.
  mono += 31_000;
  expect(stats.figures("acme")).toMatchObject({ requests_per_minute: 1, rate_limited_per_minute: 0, errors_per_minute: 1 });
  // A slot reused a minute later starts from zero, and the totals keep everything.
  mono += 60_000;
  stats.record("acme", "tools/call", null, 200, 1);
  expect(stats.figures("acme")).toMatchObject({ requests_per_minute: 1, rate_limited_per_minute: 0, errors_per_minute: 0, totals: { requests: 4, rate_limited: 1, errors: 1 } });
});
