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
