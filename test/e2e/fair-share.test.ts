/**
 * A fair share for every tenant, against the compiled binary: discovery calls have their own budget, open
 * streams are capped per tenant, refusals cost units, and calls that never reach a tool are not billed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let server: ServerProcess;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });
const addTenant = (id: string, ...flags: string[]) => mt("tenant", "add", id, ...flags, "--json").json().api_key as string;

function rpc(key: string, method: string, params: Record<string, unknown> = {}, id: number | string = 1, signal?: AbortSignal) {
  const { body, headers } = modernRequest(method, params, id);
  return fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body), signal });
}
const call = (key: string, tool: string, args: unknown, id: number | string = 1) => rpc(key, "tools/call", { name: tool, arguments: args }, id);

/** Opens a subscriptions/listen stream and reads its acknowledgement; the stream stays open until aborted. */
async function listen(key: string, id: number) {
  const abort = new AbortController();
  const response = await rpc(key, "subscriptions/listen", { notifications: { toolsListChanged: true } }, id, abort.signal);
  if (response.status !== 200) return { response, close: () => abort.abort() };
  const reader = response.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  expect(first).toContain("notifications/subscriptions/acknowledged");
  return { response, close: () => abort.abort() };
}

let keys: Record<string, string>;

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  keys = {
    lister: addTenant("lister"),
    victim: addTenant("victim"),
    inventor: addTenant("inventor"),
    streamer: addTenant("streamer"),
    other: addTenant("other"),
    prober: addTenant("prober"),
    paused: addTenant("paused"),
  };
  mt("tenant", "set-limit", "lister", "--discovery-per-minute", "30", "--max-concurrency", "100");
  mt("tenant", "set-limit", "streamer", "--max-streams", "2");
  mt("tenant", "set-limit", "prober", "--rate-limit", "5");
  mt("tenant", "set-limit", "paused", "--rate-limit", "5");
  keys.reader = mt("key", "create", "prober", "--scopes", "documents:read", "--json").json().api_key;
  server = await startServe(bin, dir);
});
afterAll(async () => {
  await server?.stop();
  cleanupTempDirs();
});

describe("fair share", () => {
  test("a tenant hammering tools/list gets 429 from its discovery budget while another tenant's calls succeed", async () => {
    const methods = ["tools/list", "resources/list", "ping", "server/discover"];
    const hammer = Array.from({ length: 60 }, (_, i) => rpc(keys.lister!, methods[i % methods.length]!, {}, i));
    const victim = Array.from({ length: 10 }, (_, i) => call(keys.victim!, "list_documents", {}, `v${i}`));
    const [hammered, served] = await Promise.all([Promise.all(hammer), Promise.all(victim)]);
    // Each costs one unit whatever its answer (ping is not a method in 2026-07-28: 404, still spent).
    expect(hammered.filter((r) => r.status !== 429).length).toBe(30);
    expect(hammered.filter((r) => r.status === 429).length).toBe(30);
    expect(served.map((r) => r.status)).toEqual(Array(10).fill(200));
    const denied = hammered.find((r) => r.status === 429)!;
    const body = (await denied.json()) as any;
    const retryAfter = Number(denied.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(body.error.code).toBe(-32010);
    expect(body.error.message).toBe(`Discovery rate limit exceeded: 30 discovery and list calls (tools/list, resources/list, ping, …) per 60 s for tenant lister; retry after ${retryAfter} s`);
    expect(body.error.data).toEqual({ budget: "discovery_per_minute", limit: 30, windowSeconds: 60, retryAfterSeconds: retryAfter });
    expect(denied.headers.get("ratelimit-policy")).toBe('"discovery";q=30;w=60');
    // Its tool calls are a separate budget: still served.
    expect((await call(keys.lister!, "list_documents", {})).status).toBe(200);
  });

  test("open subscriptions/listen streams are capped per tenant; another tenant still opens its own", async () => {
    const a = await listen(keys.streamer!, 1);
    const b = await listen(keys.streamer!, 2);
    expect([a.response.status, b.response.status]).toEqual([200, 200]);
    const c = await listen(keys.streamer!, 3);
    expect(c.response.status).toBe(429);
    expect(c.response.headers.get("retry-after")).toBe("5");
    const body = (await c.response.json()) as any;
    expect(body.error.message).toContain("Too many open streams: tenant streamer may keep 2 subscriptions/listen streams open (the plan's max_streams)");
    // Streams hold no concurrency slot: calls go on.
    expect((await call(keys.streamer!, "list_documents", {})).status).toBe(200);
    const others = await Promise.all([listen(keys.other!, 1), listen(keys.other!, 2)]);
    expect(others.map((o) => o.response.status)).toEqual([200, 200]);
    // Closing a stream frees its slot (once the server has seen the disconnect).
    a.close();
    let reopened = await listen(keys.streamer!, 4);
    for (let i = 0; i < 50 && reopened.response.status === 429; i++) {
      await Bun.sleep(100);
      reopened = await listen(keys.streamer!, 5 + i);
    }
    expect(reopened.response.status).toBe(200);
    for (const stream of [b, reopened, ...others]) stream.close();
  });

  test("invented tool names and invalid arguments are neither billed nor stored: no usage rows", async () => {
    const invented = await Promise.all(Array.from({ length: 40 }, (_, i) => call(keys.inventor!, `invented_tool_${i}`, {}, i)));
    expect(invented.every((r) => r.status === 200)).toBe(true);
    const first = (await invented[0]!.json()) as any;
    expect(JSON.stringify(first)).toContain("invented_tool_0");
    const invalid = (await (await call(keys.inventor!, "get_document", { id: 42 })).json()) as any;
    expect(JSON.stringify(invalid)).toMatch(/invalid|expected/i);
    // One real call, to see that billing still works next to it.
    expect((await call(keys.inventor!, "list_documents", {})).status).toBe(200);
    await server.stop();
    const usage = mt("usage", "--tenant", "inventor", "--format", "json").json();
    expect(usage.tenants).toHaveLength(1);
    expect(usage.tenants[0]).toMatchObject({ tenant: "inventor", tool_calls: 1, tools: { list_documents: 1 } });
    expect(Object.keys(usage.tenants[0].tools)).toEqual(["list_documents"]);
    const audit = mt("audit", "show", "--tenant", "inventor", "--json").json().entries as any[];
    expect(audit.find((e) => e.action === "limits.unknown_tool")?.details.count).toBe(40);
    expect(audit.find((e) => e.action === "limits.invalid_arguments")?.details.count).toBe(1);
    server = await startServe(bin, dir);
  });

  test("a client hammering a scope denial (403) is eventually refused with 429", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await call(keys.reader!, "create_document", { title: "t", content: "c" }, i)).status);
    // rate_limit 5: five refusals cost the five units, then 429.
    expect(statuses).toEqual([403, 403, 403, 403, 403, 429, 429, 429]);
    const last = await call(keys.reader!, "create_document", { title: "t", content: "c" });
    expect(last.status).toBe(429);
    expect(Number(last.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  test("a suspended tenant hammering the server is eventually refused with 429", async () => {
    expect(mt("tenant", "suspend", "paused").code).toBe(0);
    const statuses: number[] = [];
    // The authenticator may serve the tenant's row from its one-second cache: poll past it.
    for (let i = 0; i < 40 && statuses.filter((s) => s === 403).length === 0; i++) {
      const status = (await call(keys.paused!, "list_documents", {}, i)).status;
      if (status === 200) await Bun.sleep(100);
      else statuses.push(status);
    }
    for (let i = 0; i < 8; i++) statuses.push((await call(keys.paused!, "list_documents", {}, i)).status);
    expect(statuses.filter((s) => s === 403).length).toBeLessThanOrEqual(5);
    expect(statuses.slice(-3)).toEqual([429, 429, 429]);
    const body = (await (await call(keys.paused!, "list_documents", {})).json()) as any;
    expect(body.error.message).toContain("Rate limit exceeded: 5 units per 60 s for tenant paused");
  });
});
