/** Fair sharing and billing against the compiled binary: rate limits, quotas, concurrency, metering. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { v2Stdio } from "../helpers/clients.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });
const addTenant = (id: string, ...flags: string[]) => mt("tenant", "add", id, ...flags, "--json").json().api_key as string;

function call(server: ServerProcess, key: string, tool: string, args: Record<string, unknown>, id: number | string = 1, extraHeaders: Record<string, string> = {}) {
  const { body, headers } = modernRequest("tools/call", { name: tool, arguments: args }, id);
  return fetch(server.url, { method: "POST", headers: { ...headers, ...extraHeaders, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
}

beforeAll(() => ({ dir, bin } = binaryInEmptyDir()));
afterAll(cleanupTempDirs);

describe("rate limits", () => {
  let server: ServerProcess;
  let noisy: string;
  let quiet: string;
  let noisyDoc: string;

  beforeAll(async () => {
    noisy = addTenant("noisy");
    quiet = addTenant("quiet", "--plan", "pro");
    mt("tenant", "set-limit", "quiet", "--max-concurrency", "1000");
    // Isolate the rate limit from the concurrency cap for the hammer test.
    expect(mt("tenant", "set-limit", "noisy", "--max-concurrency", "2000", "--json").json().overrides).toEqual({ max_concurrency: 2000 });
    // 1,050 concurrent calls from one address (this process): the per-address connection cap (256, tested in
    // test/reliability/http-edge.test.ts) would otherwise refuse some of them before the rate limit is reached.
    server = await startServe(bin, dir, [], { MCP_MT_SERVER_MAX_CONNECTIONS_PER_ADDRESS: "4096" });
    noisyDoc = ((await (await call(server, noisy, "create_document", { title: "n", content: "noisy doc" })).json()) as any).result.structuredContent.id;
  });
  afterAll(async () => server?.stop());

  test("a free tenant hammered with 1,000 concurrent calls gets exactly its limit; a second tenant is untouched", async () => {
    const quietDoc = ((await (await call(server, quiet, "create_document", { title: "q", content: "quiet doc" })).json()) as any).result.structuredContent.id;
    const hammer = Array.from({ length: 1000 }, (_, i) => call(server, noisy, "get_document", { id: noisyDoc }, i));
    const quietCalls = Array.from({ length: 50 }, (_, i) => call(server, quiet, "get_document", { id: quietDoc }, `q${i}`));
    const [noisyResponses, quietResponses] = await Promise.all([Promise.all(hammer), Promise.all(quietCalls)]);
    const statuses = noisyResponses.map((r) => r.status);
    // 100 per minute for free; one unit already went to create_document above.
    expect(statuses.filter((s) => s === 200).length).toBe(99);
    expect(statuses.filter((s) => s === 429).length).toBe(901);
    expect(quietResponses.every((r) => r.status === 200)).toBe(true);

    const denied = noisyResponses.find((r) => r.status === 429)!;
    const body = (await denied.json()) as any;
    const retryAfter = Number(denied.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(body.jsonrpc).toBe("2.0");
    expect(typeof body.id).toBe("number");
    expect(body.error.code).toBe(-32010);
    expect(body.error.message).toBe(`Rate limit exceeded: 100 units per 60 s for tenant noisy; retry after ${retryAfter} s`);
    expect(body.error.data).toEqual({ budget: "rate_limit_per_minute", limit: 100, windowSeconds: 60, retryAfterSeconds: retryAfter });
    expect(denied.headers.get("ratelimit-policy")).toBe('"tenant";q=100;w=60');
    expect(denied.headers.get("ratelimit")).toMatch(/^"tenant";r=0;t=\d+$/);
  });

  test("admitted responses carry the RateLimit headers; list calls spend their own discovery budget, not tool calls", async () => {
    const before = await call(server, quiet, "list_documents", {});
    expect(before.status).toBe(200);
    expect(before.headers.get("ratelimit-policy")).toBe('"tenant";q=1000;w=60');
    const remaining = Number(/r=(\d+)/.exec(before.headers.get("ratelimit")!)![1]);
    const { body, headers } = modernRequest("tools/list");
    for (let i = 0; i < 5; i++) {
      const list = await fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${quiet}` }, body: JSON.stringify(body) });
      expect(list.status).toBe(200);
      expect(list.headers.get("ratelimit-policy")).toBe('"discovery";q=6000;w=60');
      expect(list.headers.get("ratelimit")).toMatch(new RegExp(`^"discovery";r=${5999 - i};t=\\d+$`));
    }
    const after = await call(server, quiet, "list_documents", {});
    expect(after.headers.get("ratelimit")).toContain(`r=${remaining - 1};`);
    // the throttled tenant can still list its tools
    const noisyList = await fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${noisy}` }, body: JSON.stringify(body) });
    expect(noisyList.status).toBe(200);
  });
});

describe("quotas and failed authentication", () => {
  let server: ServerProcess;
  let capped: string;
  let legit: string;

  beforeAll(async () => {
    capped = addTenant("capped");
    mt("tenant", "set-limit", "capped", "--monthly-tool-calls", "6", "--max-documents", "2");
    legit = addTenant("legit");
    server = await startServe(bin, dir, [], { MCP_MT_SERVER_TRUST_PROXY: "true" });
  });
  afterAll(async () => server?.stop());

  test("storage quota: a clear tool error at the limit, room again after a delete", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push(((await (await call(server, capped, "create_document", { title: `d${i}`, content: "x" })).json()) as any).result.structuredContent.id);
    const third = (await (await call(server, capped, "create_document", { title: "d2", content: "x" })).json()) as any;
    expect(third.result.isError).toBe(true);
    expect(third.result.content[0].text).toBe("Storage quota reached: 2 of 2 documents stored. Delete documents or ask the operator for a larger plan.");
    await call(server, capped, "delete_document", { id: ids[0] });
    const again = (await (await call(server, capped, "create_document", { title: "d3", content: "x" })).json()) as any;
    expect(again.result.structuredContent.version).toBe(1);
  });

  test("monthly tool-call quota: the 7th call is refused naming quota, usage and reset", async () => {
    // five calls so far (three creates, a delete, a create); the sixth is the last one allowed
    expect((await call(server, capped, "list_documents", {}, 41)).status).toBe(200);
    const response = await call(server, capped, "list_documents", {}, 42);
    expect(response.status).toBe(429);
    const body = (await response.json()) as any;
    expect(body.id).toBe(42);
    expect(body.error.code).toBe(-32010);
    expect(body.error.message).toMatch(/^Monthly tool-call quota reached: 6 of 6 calls used in \d{4}-\d{2}; it resets at \d{4}-\d{2}-01T00:00:00\.000Z$/);
    expect(body.error.data).toMatchObject({ quota: "monthly_tool_calls", limit: 6, used: 6 });
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("failed authentication is throttled per client address and key id, never refusing a valid key", async () => {
    const attacker = { "x-forwarded-for": "203.0.113.66" };
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await call(server, "mcpmt_guess", "list_documents", {}, i, attacker)).status);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    // a valid key from the throttled address is still checked, and served
    expect((await call(server, legit, "list_documents", {}, 1, attacker)).status).toBe(200);
    expect((await call(server, legit, "list_documents", {}, 1, { "x-forwarded-for": "198.51.100.7" })).status).toBe(200);
  });
});

describe("metering", () => {
  test("usage counts exactly match the calls made (graceful stop), and the tenant sees its own report", async () => {
    const key = addTenant("metered", "--plan", "pro");
    const server = await startServe(bin, dir);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(((await (await call(server, key, "create_document", { title: `m${i}`, content: "meter me" })).json()) as any).result.structuredContent.id);
    for (let i = 0; i < 3; i++) await call(server, key, "search_documents", { query: "meter" });
    for (let i = 0; i < 5; i++) await call(server, key, "get_document", { id: ids[i % 4] });
    const report = ((await (await call(server, key, "get_usage_report", {})).json()) as any).result.structuredContent;
    // the report itself is the 13th call
    expect(report).toMatchObject({ tool_calls: 13, documents_created: 4, searches: 3, rate_limited: 0, tools: { create_document: 4, search_documents: 3, get_document: 5, get_usage_report: 1 } });
    expect(report.estimated_cost).toBe(Math.round((13 * 0.001 + 4 * 0.01 + 3 * 0.005) * 1e6) / 1e6);
    expect(report.quotas.monthly_tool_calls).toEqual({ limit: 1_000_000, used: 13, remaining: 999_987 });
    expect(report.quotas.documents.used).toBe(4);
    const badMonth = ((await (await call(server, key, "get_usage_report", { month: "2026-13" })).json()) as any).result;
    expect(badMonth.isError).toBe(true);
    expect(badMonth.content[0].text).toContain("month must be YYYY-MM");
    expect(await server.stop("SIGTERM")).toBe(0);
    const usage = mt("usage", "--tenant", "metered", "--format", "json").json();
    // The call with an invalid month never reached the tool: not billed.
    expect(usage.tenants[0]).toMatchObject({ tenant: "metered", tool_calls: 13, documents_created: 4, searches: 3 });
    const csv = mt("usage", "--format", "csv").stdout.split("\n");
    expect(csv[0]).toBe("tenant,month,tool_calls,documents_created,searches,rate_limited,quota_exceeded,estimated_cost,currency");
    expect(csv.find((line) => line.startsWith("metered,"))).toMatch(/^metered,\d{4}-\d{2},13,4,3,0,0,0\.068,USD$/);
    expect(mt("usage", "--month", "11-2026").stderr).toContain("--month \"11-2026\" must be YYYY-MM");
  });

  test("kill -9 loses at most one flush interval of usage", async () => {
    const key = addTenant("crashy", "--plan", "pro");
    const server = await startServe(bin, dir);
    for (let i = 0; i < 30; i++) await call(server, key, "list_documents", {});
    await Bun.sleep(1_500); // more than metering.flush_interval_ms (1 s): the first 30 are written
    const lastBurst = 10;
    for (let i = 0; i < lastBurst; i++) await call(server, key, "list_documents", {});
    server.proc.kill("SIGKILL");
    await server.proc.exited;
    const counted = mt("usage", "--tenant", "crashy", "--format", "json").json().tenants[0].tool_calls;
    expect(counted).toBeGreaterThanOrEqual(30);
    expect(counted).toBeLessThanOrEqual(30 + lastBurst);
  });

  test("kill -9 after a quiet interval loses nothing", async () => {
    const key = addTenant("crashy-later", "--plan", "pro");
    const server = await startServe(bin, dir);
    for (let i = 0; i < 25; i++) await call(server, key, "list_documents", {});
    await Bun.sleep(1_500);
    server.proc.kill("SIGKILL");
    await server.proc.exited;
    expect(mt("usage", "--tenant", "crashy-later", "--format", "json").json().tenants[0].tool_calls).toBe(25);
  });
});

describe("stdio", () => {
  test("over-limit requests get the same JSON-RPC error as HTTP", async () => {
    const key = addTenant("stdio-limited");
    mt("tenant", "set-limit", "stdio-limited", "--rate-limit", "3");
    const client = await v2Stdio(bin, dir, { MCP_MT_API_KEY: key }, "modern");
    try {
      for (let i = 0; i < 3; i++) expect((await client.callTool("list_documents", {})).isError).toBeFalsy();
      const error = await client.callTool("list_documents", {}).then(
        () => null,
        (e: { code?: number; message?: string; data?: any }) => e,
      );
      expect(error?.code).toBe(-32010);
      expect(error?.message).toContain("Rate limit exceeded: 3 units per 60 s for tenant stdio-limited");
    } finally {
      await client.close();
    }
  });
});
