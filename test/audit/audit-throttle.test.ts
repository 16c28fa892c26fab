/** Audit throttling on a fake monotonic clock (no sleeps): one entry per key and window, the rest counted into the next. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { AuditLog } from "../../src/audit/audit-log.ts";
import { loadConfig } from "../../src/config/load.ts";
import { createServices, type Services } from "../../src/services.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

let services: Services;
let wall = Date.UTC(2026, 10, 1);
let mono = 0;

beforeAll(async () => {
  const dir = tempDir();
  services = await createServices(loadConfig({ env: {}, cwd: dir, dataDir: dir }), { clock: () => wall });
});
afterAll(async () => {
  await services?.close();
  cleanupTempDirs();
});

test("one entry per key and window; the suppressed ones are counted into the next; a wall-clock step changes nothing", async () => {
  const audit = new AuditLog({ control: services.control, clock: () => wall, monotonic: () => mono });
  const event = (n: number) => ({ actor: "anonymous", action: "auth.failed", target: `try-${n}`, outcome: "denied" as const });
  const appended = (key: string, n: number) => audit.appendThrottled(key, 60_000, event(n));
  await appended("ip:a", 1);
  expect(appended("ip:a", 2)).toBeUndefined();
  // Another key has a window of its own.
  await appended("ip:b", 1);
  // An hour forward on the wall clock: still inside the minute on the monotonic clock.
  wall += 3_600_000;
  mono += 59_999;
  expect(appended("ip:a", 3)).toBeUndefined();
  mono += 1;
  await appended("ip:a", 4);
  // Stepped back: the window still ends a minute after the last entry.
  wall -= 7_200_000;
  mono += 30_000;
  expect(appended("ip:a", 5)).toBeUndefined();
  const entries = (await audit.list({ limit: 10 })).filter((e) => e.action === "auth.failed").sort((a, b) => a.seq - b.seq);
  expect(entries.map((e) => [e.target, e.details])).toEqual([
    ["try-1", {}],
    ["try-1", {}],
    ["try-4", { suppressed_since_last: 2 }],
  ]);
});
