/**
 * Three `mcp-mt serve` instances on one PostgreSQL and one Redis, behind nginx (the shipped configuration):
 * limits and quotas exact in total, revocation heard everywhere, an instance killed mid-load and PostgreSQL
 * restarted mid-load without losing an acknowledged write. (Round robin, shared writes and the nginx
 * behaviour itself are in load-balancer.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { startNginx, type LoadBalancer } from "../helpers/nginx.ts";
import { pgDatabase, type PgServer } from "../helpers/postgres.ts";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

const pepper = "cluster-test-pepper-0123456789abcdef";
let pg: { url: string; server: PgServer; name: string };
let redis: RedisServer;
let env: Record<string, string>;
let dirs: { dir: string; bin: string }[];
let instances: ServerProcess[];
let lb: LoadBalancer;

const mt = (...args: string[]) => {
  const r = run(dirs[0]!.bin, args, { cwd: dirs[0]!.dir, env });
  if (r.code !== 0) throw new Error(`mcp-mt ${args.join(" ")}: ${r.stderr}`);
  return r;
};

async function call(origin: string, key: string, name: string, args: Record<string, unknown>, id = 1) {
  const { body, headers } = modernRequest("tools/call", { name, arguments: args }, id);
  const response = await fetch(`${origin}/mcp`, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
  const text = await response.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: response.status, json, text };
}

beforeAll(async () => {
  pg = pgDatabase("cluster");
  redis = await startRedis();
  env = {
    MCP_MT_STORAGE_URL: pg.url,
    MCP_MT_STORAGE_ISOLATION: "row",
    MCP_MT_AUTH_PEPPER: pepper,
    MCP_MT_LIMITS_REDIS_URL: redis.url,
    MCP_MT_LIMITS_REDIS_TIMEOUT_MS: "2000",
    MCP_MT_LIMITS_CONCURRENCY_WAIT_MS: "0",
    // Behind nginx every connection comes from the proxy: the client address is X-Forwarded-For's.
    MCP_MT_SERVER_TRUST_PROXY: "true",
  };
  dirs = [binaryInEmptyDir(), binaryInEmptyDir(), binaryInEmptyDir()];
  instances = await Promise.all(dirs.map(({ dir, bin }) => startServe(bin, dir, [], env)));
  lb = await startNginx(instances.map((s) => s.port));
}, 120_000);

afterAll(async () => {
  await lb?.stop();
  await Promise.all((instances ?? []).map((s) => s.stop().catch(() => undefined)));
  await redis?.stop();
  cleanupTempDirs();
}, 60_000);

describe("three instances behind nginx", () => {
  test("the free plan admits exactly 100 of 1,000 concurrent calls in total", async () => {
    const key = mt("tenant", "add", "free-burst", "--json").json().api_key;
    mt("tenant", "set-limit", "free-burst", "--max-concurrency", "1000");
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => call(lb.origin, key, "list_documents", { limit: 1 }, i)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBe(100);
    expect(statuses.filter((s) => s === 429).length).toBe(900);
  }, 120_000);

  test("a monthly quota of N admits exactly N across the instances", async () => {
    const key = mt("tenant", "add", "quota", "--json").json().api_key;
    mt("tenant", "set-limit", "quota", "--monthly-tool-calls", "37", "--rate-limit", "10000", "--max-concurrency", "1000");
    const results = await Promise.all(Array.from({ length: 120 }, (_, i) => call(instances[i % 3]!.origin, key, "list_documents", { limit: 1 }, i)));
    expect(results.filter((r) => r.status === 200).length).toBe(37);
    expect(results.filter((r) => r.status === 429).length).toBe(83);
  }, 60_000);

  test("a key revoked through instance 1 is refused by instances 2 and 3", async () => {
    const added = mt("tenant", "add", "revoked", "--json").json();
    for (const instance of instances) expect((await call(instance.origin, added.api_key, "list_documents", { limit: 1 })).status).toBe(200);
    const keyId = mt("key", "list", "revoked", "--json").json().keys[0].id;
    mt("key", "revoke", keyId);
    for (const instance of instances.slice(1)) {
      let refused = await call(instance.origin, added.api_key, "list_documents", { limit: 1 });
      for (const deadline = performance.now() + 15_000; refused.status === 200 && performance.now() < deadline; ) {
        await Bun.sleep(100);
        refused = await call(instance.origin, added.api_key, "list_documents", { limit: 1 });
      }
      expect(refused.status).toBe(401);
      expect(refused.text).toContain("revoked");
    }
  });

  test("an instance killed with SIGKILL mid-load loses no acknowledged write, and the others keep serving", async () => {
    const key = mt("tenant", "add", "killed", "--json").json().api_key;
    mt("tenant", "set-limit", "killed", "--rate-limit", "100000", "--max-concurrency", "1000");
    const acknowledged: string[] = [];
    let failures = 0;
    const writer = async (w: number) => {
      for (let i = 0; i < 40; i++) {
        const r = await call(lb.origin, key, "create_document", { title: `w${w}-${i}`, content: "kill test" }, i).catch(() => null);
        if (r?.status === 200 && !r.json.result.isError) acknowledged.push(r.json.result.structuredContent.id);
        else failures++;
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
    // Mid-load: once some writes are acknowledged, whatever the machine's speed.
    while (acknowledged.length < 40 && failures === 0) await Bun.sleep(10);
    instances[2]!.proc.kill("SIGKILL");
    await load;
    expect(acknowledged.length).toBeGreaterThan(100);
    // Every acknowledged write is there, read through the survivors.
    for (const id of acknowledged) {
      const got = await call(instances[id.charCodeAt(5) % 2]!.origin, key, "get_document", { id });
      expect(got.json?.result?.structuredContent?.id).toBe(id);
    }
    // The survivors (and the load balancer) keep serving.
    const after = await Promise.all(Array.from({ length: 12 }, (_, i) => call(lb.origin, key, "list_documents", { limit: 1 }, i)));
    expect(after.every((r) => r.status === 200)).toBe(true);
    instances[2] = await startServe(dirs[2]!.bin, dirs[2]!.dir, [], env);
  }, 120_000);
});

describe("PostgreSQL restarted mid-load", () => {
  test("requests fail with a clear 503 meanwhile, succeed after, and nothing acknowledged is lost", async () => {
    const key = mt("tenant", "add", "outage", "--json").json().api_key;
    mt("tenant", "set-limit", "outage", "--rate-limit", "100000", "--max-concurrency", "1000");
    const acknowledged: string[] = [];
    const errors: { status: number; text: string }[] = [];
    let stop = false;
    const writer = async () => {
      for (let i = 0; !stop; i++) {
        const r = await call(instances[i % 2]!.origin, key, "create_document", { title: `o${i}`, content: "outage" }, i);
        if (r.status === 200 && !r.json.result.isError) acknowledged.push(r.json.result.structuredContent.id);
        else errors.push({ status: r.status, text: r.text });
        await Bun.sleep(10);
      }
    };
    const load = Promise.all([writer(), writer()]);
    await Bun.sleep(300);
    pg.server.stop();
    // Down until the writers have seen it (a refusal), then started again.
    for (const deadline = performance.now() + 15_000; errors.length === 0 && performance.now() < deadline; ) await Bun.sleep(50);
    pg.server.start();
    // Until a write succeeds again after the restart.
    const before = acknowledged.length;
    const deadline = Date.now() + 30_000;
    while (acknowledged.length < before + 10 && Date.now() < deadline) await Bun.sleep(100);
    stop = true;
    await load;
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      if (e.status !== 503 && e.status !== 200) console.error("unexpected answer during the outage:", e.status, e.text.slice(0, 500));
      expect([200, 503]).toContain(e.status);
      expect(e.text).toMatch(/PostgreSQL|unavailable|retry/i);
      expect(e.text).not.toMatch(/\bat .*\.ts:\d+/);
    }
    expect(acknowledged.length).toBeGreaterThan(before + 9);
    const listed = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: any = await call(instances[0]!.origin, key, "list_documents", { limit: 100, ...(cursor ? { cursor } : {}) });
      for (const d of page.json.result.structuredContent.documents) listed.add(d.id);
      cursor = page.json.result.structuredContent.next_cursor;
    } while (cursor);
    for (const id of acknowledged) expect(listed.has(id)).toBe(true);
  }, 120_000);
});
