/** Shared limits through a real redis-server: two instances admit at most the limit in total; Redis going away follows the policy. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

const redisBinary = Bun.which("redis-server");
let redis: Subprocess | undefined;
let redisPort = 0;
let dir: string;
let bin: string;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });

async function startRedis(): Promise<void> {
  redisPort = 20_000 + Math.floor(Math.random() * 20_000);
  redis = Bun.spawn([redisBinary!, "--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdout: "ignore", stderr: "ignore" });
  for (let i = 0; i < 100; i++) {
    try {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port: redisPort, socket: { data() {} } });
      socket.end();
      return;
    } catch {
      await Bun.sleep(50);
    }
  }
  throw new Error("redis-server did not start");
}

function call(server: ServerProcess, key: string, id: number) {
  const { body, headers } = modernRequest("tools/call", { name: "list_documents", arguments: { limit: 1 } }, id);
  return fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
}

function configFile(name: string, failureMode: "open" | "closed"): string {
  const path = join(dir, name);
  // Generous: on a loaded 2-core machine a 200 ms budget expires and fail-open admits one call too many.
  writeFileSync(path, `[limits]\nredis_url = "redis://127.0.0.1:${redisPort}"\nredis_timeout_ms = 2000\nconcurrency_wait_ms = 0\nfailure_mode = "${failureMode}"\n`);
  return path;
}

beforeAll(async () => {
  if (!redisBinary) throw new Error("redis-server is not installed (.ci/run installs it from the Debian packages)");
  ({ dir, bin } = binaryInEmptyDir());
  await startRedis();
});
afterAll(() => {
  redis?.kill("SIGKILL");
  cleanupTempDirs();
});

describe("Redis-shared limits", () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let closed: ServerProcess;
  let key: string;

  beforeAll(async () => {
    key = mt("tenant", "add", "shared", "--json").json().api_key;
    mt("tenant", "set-limit", "shared", "--rate-limit", "50", "--max-concurrency", "1000");
    a = await startServe(bin, dir, ["--config", configFile("a.toml", "open")]);
    b = await startServe(bin, dir, ["--config", configFile("b.toml", "open")]);
    closed = await startServe(bin, dir, ["--config", configFile("c.toml", "closed")]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), closed?.stop()]);
  });

  test("two instances sharing one Redis admit at most the limit in total", async () => {
    // Instance A spends 30 of the 50 units; instance B then has exactly 20 left.
    const first = await Promise.all(Array.from({ length: 30 }, (_, i) => call(a, key, i)));
    expect(first.every((r) => r.status === 200)).toBe(true);
    const second = await Promise.all(Array.from({ length: 30 }, (_, i) => call(b, key, i)));
    expect(second.filter((r) => r.status === 200).length).toBe(20);
    expect(second.filter((r) => r.status === 429).length).toBe(10);
    // And a burst split over both instances admits nothing more.
    const burst = await Promise.all(Array.from({ length: 100 }, (_, i) => call(i % 2 ? a : b, key, i)));
    expect(burst.every((r) => r.status === 429)).toBe(true);
    expect(burst[0]!.headers.get("ratelimit")).toMatch(/^"tenant";r=0;t=\d+$/);
  });

  test("the concurrency cap holds while requests wait on Redis", async () => {
    const busy = mt("tenant", "add", "busy", "--json").json().api_key;
    mt("tenant", "set-limit", "busy", "--max-concurrency", "1", "--rate-limit", "10000");
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => call(a, busy, i)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    const refused = responses.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(((await refused[0]!.json()) as any).error.message).toBe("Too many concurrent requests: tenant busy may have 1 in flight; retry after 1 s");
  });

  test("Redis stopped mid-run: fail-open admits, fail-closed refuses with 503, neither hangs", async () => {
    const other = mt("tenant", "add", "after", "--json").json().api_key;
    mt("tenant", "set-limit", "after", "--max-concurrency", "100");
    redis!.kill("SIGKILL");
    await redis!.exited;
    const open = await Promise.all(Array.from({ length: 10 }, (_, i) => call(a, other, i)));
    expect(open.map((r) => r.status)).toEqual(Array(10).fill(200));
    const refused = await Promise.all(Array.from({ length: 10 }, (_, i) => call(closed, other, i)));
    expect(refused.map((r) => r.status)).toEqual(Array(10).fill(503));
    const body = (await refused[0]!.json()) as any;
    expect(body.error.message).toBe("Rate limiter unavailable; retry shortly");
    expect(refused[0]!.headers.get("retry-after")).toBe("1");
    // Each server noticed and applied its own policy (no hang: the test's own timeout would fail it).
    expect(a.stderr()).toContain('"msg":"redis rate limiter unavailable"');
    expect(a.stderr()).toContain('"failure_mode":"open"');
    expect(closed.stderr()).toContain('"failure_mode":"closed"');
  });
});
