/**
 * The shipped nginx configuration (deploy/compose/nginx.conf), run by test/helpers/nginx.ts in front of stub
 * upstreams and a real `mcp-mt serve`: round robin, keep-alive to the upstreams, X-Forwarded-For, streams
 * passed through unbuffered, an instance down, a POST never replayed, and MCP calls through it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "bun";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { v1Http, v2Http } from "../helpers/clients.ts";
import { serverConfig, shippedNginxConf, startNginx, type LoadBalancer } from "../helpers/nginx.ts";
import { pgBinDir, pgDatabase } from "../helpers/postgres.ts";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

type Seen = { name: string; path: string; xff: string | null; host: string | null; peerPort: number | undefined };

/** An upstream that records what reached it and answers with its name; /stream sends one event, then waits to be released. */
function stub(name: string, seen: Seen[]) {
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const state = { secondEventSent: false };
  const server: Server<undefined> = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req, srv) {
      const path = new URL(req.url).pathname;
      seen.push({ name, path, xff: req.headers.get("x-forwarded-for"), host: req.headers.get("host"), peerPort: srv.requestIP(req)?.port });
      if (path !== "/stream") return new Response(name);
      const encoder = new TextEncoder();
      const body = new ReadableStream({
        async start(controller) {
          controller.enqueue(encoder.encode("event: message\ndata: first\n\n"));
          // Never hangs the test: without a release the second event follows after a while anyway.
          await Promise.race([released, Bun.sleep(10_000)]);
          state.secondEventSent = true;
          controller.enqueue(encoder.encode("event: message\ndata: second\n\n"));
          controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
    },
  });
  return { name, server, port: server.port!, release, state };
}

/** A TCP upstream that reads one request, counts it, and closes the connection without answering (an instance dying mid-call). */
async function dyingUpstream() {
  const state = { requests: 0 };
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket) {
        state.requests++;
        socket.end();
      },
    },
  });
  return { port: listener.port, state, stop: () => listener.stop(true) };
}

const seen: Seen[] = [];
const stubs = ["a", "b", "c"].map((name) => stub(name, seen));
let lb: LoadBalancer;

beforeAll(async () => {
  lb = await startNginx(stubs.map((s) => s.port));
});
afterAll(async () => {
  await lb?.stop();
  for (const s of stubs) s.server.stop(true);
  cleanupTempDirs();
});

describe("the shipped nginx configuration", () => {
  test("the harness runs the shipped file: only the upstream servers and the listen port differ", () => {
    const shipped = readFileSync(shippedNginxConf, "utf8");
    const running = readFileSync(`${lb.dir}/mcp-mt.conf`, "utf8");
    const strip = (text: string) => text.split("\n").filter((l) => !/^\s*(server\s+\S+:\d+|listen)\b/.test(l));
    expect(strip(running)).toEqual(strip(shipped));
    expect(running).toContain(`listen 127.0.0.1:${lb.port};`);
    for (const s of stubs) expect(running).toContain(`server 127.0.0.1:${s.port} max_fails=1 fail_timeout=5s;`);
    // The harness refuses a template without the shape it relies on.
    expect(() => serverConfig("server { listen 80; }", [1], 2)).toThrow(/upstream mcp_mt/);
    expect(() => serverConfig(shipped.replace(/^\s*listen[^\n]*\n/m, ""), [1], 2)).toThrow(/listen/);
  });

  test("round robin: 6 requests reach a, b, c twice each, over kept-alive connections, with Host and X-Forwarded-For", async () => {
    seen.length = 0;
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${lb.origin}/rr`, { headers: { "x-forwarded-for": "203.0.113.7" } });
      names.push(await response.text());
    }
    expect(names.toSorted()).toEqual(["a", "a", "b", "b", "c", "c"]);
    expect(names.slice(0, 3).toSorted()).toEqual(["a", "b", "c"]);
    for (const s of stubs) {
      const mine = seen.filter((x) => x.name === s.name);
      expect(mine.length).toBe(2);
      // HTTP/1.1 keep-alive to the upstream: the second request came over the first one's connection.
      expect(mine[1]!.peerPort).toBe(mine[0]!.peerPort);
    }
    // The client's own X-Forwarded-For is kept and nginx appends the address it saw: the last hop is the real
    // client (what mcp-mt with trust_proxy reads). The Host is the client's, which mcp-mt's Host check needs.
    expect(seen.map((x) => x.xff)).toEqual(Array(6).fill("203.0.113.7, 127.0.0.1"));
    expect(seen.map((x) => x.host)).toEqual(Array(6).fill("127.0.0.1"));
  });

  test("a stream passes through live: the first event reaches the client before the upstream sends the second", async () => {
    // Round robin: find the stub this request lands on from what it saw.
    seen.length = 0;
    const response = await fetch(`${lb.origin}/stream`, { headers: { accept: "text/event-stream" } });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("data: first\n\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const upstream = stubs.find((s) => s.name === seen[0]!.name)!;
    // Nothing held the first event back until the upstream ended the response.
    expect(text).toContain("data: first");
    expect(upstream.state.secondEventSent).toBe(false);
    upstream.release();
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toBe("event: message\ndata: first\n\nevent: message\ndata: second\n\n");
  });

  test("an instance down: every request is answered by the others", async () => {
    const down = stub("down", []);
    down.server.stop(true);
    const up = stub("up", []);
    const pair = await startNginx([down.port, up.port]);
    try {
      const answers: string[] = [];
      for (let i = 0; i < 6; i++) {
        const response = await fetch(`${pair.origin}/`);
        answers.push(`${response.status} ${await response.text()}`);
      }
      expect(answers).toEqual(Array(6).fill("200 up"));
    } finally {
      await pair.stop();
      up.server.stop(true);
    }
  });

  test("a POST whose instance dies mid-call is not replayed on another (no tool call runs twice): 502", async () => {
    const dying = await dyingUpstream();
    const other = stub("other", []);
    const otherSeen: Seen[] = [];
    const witness = stub("witness", otherSeen);
    const pair = await startNginx([dying.port, witness.port]);
    try {
      // The first request goes to the first upstream (round robin starts there with one worker).
      const response = await fetch(`${pair.origin}/mcp`, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call" }), headers: { "content-type": "application/json" } });
      expect(response.status).toBe(502);
      expect(dying.state.requests).toBe(1);
      expect(otherSeen.length).toBe(0);
      // A GET (idempotent) in the same situation is retried on the next instance.
      const get = await fetch(`${pair.origin}/again`);
      expect([get.status, await get.text()]).toEqual([200, "witness"]);
    } finally {
      await pair.stop();
      dying.stop();
      other.server.stop(true);
      witness.server.stop(true);
    }
  });
});

describe("mcp-mt behind the shipped nginx", () => {
  let server: ServerProcess;
  let front: LoadBalancer;
  let key: string;

  beforeAll(async () => {
    const { dir, bin } = binaryInEmptyDir();
    key = run(bin, ["tenant", "add", "acme", "--json"], { cwd: dir }).json().api_key;
    server = await startServe(bin, dir);
    front = await startNginx([server.port]);
  });
  afterAll(async () => {
    await front?.stop();
    await server?.stop();
  });

  test("the official clients (2025 and 2026 eras) create and find a document through the load balancer", async () => {
    const legacy = await v1Http(`${front.origin}/mcp`, key);
    const modern = await v2Http(`${front.origin}/mcp`, key, "modern");
    try {
      const created = await legacy.callTool("create_document", { title: "Through nginx", content: "balanced words" });
      expect(created.isError).toBeFalsy();
      const found = await modern.callTool("search_documents", { query: "balanced" });
      expect(found.structuredContent).toMatchObject({ count: 1, results: [{ id: created.structuredContent.id, title: "Through nginx" }] });
    } finally {
      await legacy.close();
      await modern.close();
    }
    expect(front.accessLog().filter((e) => e.uri === "POST /mcp").length).toBeGreaterThanOrEqual(3);
  });

  test("a subscriptions/listen stream stays open through nginx and its first event arrives while it is open", async () => {
    const { body, headers } = modernRequest("subscriptions/listen", { notifications: { toolsListChanged: true } }, 7);
    const abort = new AbortController();
    const response = await fetch(`${front.origin}/mcp`, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body), signal: abort.signal });
    try {
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toStartWith("text/event-stream");
      const reader = response.body!.getReader();
      let text = "";
      while (!text.includes("\n\n")) {
        const { value, done } = await reader.read();
        expect(done).toBe(false);
        text += new TextDecoder().decode(value);
      }
      // The acknowledgement came through while mcp-mt still holds the stream open: nothing buffered it.
      const data = text.split("\n").find((l) => l.startsWith("data: "))!;
      expect(JSON.parse(data.slice(6))).toMatchObject({ method: "notifications/subscriptions/acknowledged" });
    } finally {
      abort.abort();
    }
  });

  test("a wrong key through the load balancer is mcp-mt's own 401, not nginx's page", async () => {
    const response = await fetch(`${front.origin}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: "Bearer mcpmt_wrong" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain("resource_metadata");
  });
});

/**
 * Three `mcp-mt serve` behind the shipped nginx, sharing their truth: one data directory and one Redis on one
 * host (the libSQL layout), or one PostgreSQL and one Redis (the scale-out layout).
 */
type Layout = { name: string; ready: () => boolean; documents: boolean; setUp: (redisUrl: string) => { env: Record<string, string>; dirs: { dir: string; bin: string }[]; operator: { dir: string; bin: string } } };

// Tenant documents on PostgreSQL are being built (issue 11, src/store/postgres/): until they are on main, the
// PostgreSQL layout runs the control-plane and limit rows only. Flip this when they land.
const documentsOnPostgres = true;

/**
 * Limits in Redis. A generous Redis wait: with the default 50 ms a loaded 2-core test machine lets decisions
 * time out, and failure_mode "open" then admits calls beyond the limit (measured: 34 of 60 against 30).
 */
const sharedLimits = (redisUrl: string) => ({ MCP_MT_LIMITS_REDIS_URL: redisUrl, MCP_MT_LIMITS_REDIS_TIMEOUT_MS: "2000" });

const layouts: Layout[] = [
  {
    name: "libSQL: one data directory and one Redis on one host",
    ready: () => true,
    documents: true,
    setUp: (redisUrl) => {
      const shared = binaryInEmptyDir();
      return { env: { ...sharedLimits(redisUrl) }, dirs: [shared, shared, shared], operator: shared };
    },
  },
  {
    name: "PostgreSQL and Redis, each instance in its own empty directory",
    ready: () => pgBinDir() !== null,
    documents: documentsOnPostgres,
    setUp: (redisUrl) => {
      const { url } = pgDatabase("lb");
      const env = { MCP_MT_STORAGE_URL: url, ...sharedLimits(redisUrl), MCP_MT_AUTH_PEPPER: "cGVwcGVyLXNoYXJlZC1ieS10aGUtdGhyZWUtaW5zdGFuY2Vz" };
      // Each with an empty data directory of its own, as the image's /data volume or a pod's emptyDir gives it.
      const dirs = [binaryInEmptyDir(), binaryInEmptyDir(), binaryInEmptyDir()];
      for (const { dir } of dirs) mkdirSync(join(dir, "data"));
      return { env, dirs, operator: binaryInEmptyDir() };
    },
  },
];

for (const layout of layouts) {
  describe.skipIf(!layout.ready())(`three mcp-mt instances behind the shipped nginx (${layout.name})`, () => {
    const servers: ServerProcess[] = [];
    let front: LoadBalancer;
    let redis: RedisServer;
    const keys: Record<string, string> = {};

    beforeAll(async () => {
      redis = await startRedis();
      const { env, dirs, operator } = layout.setUp(redis.url);
      const mt = (...args: string[]) => run(operator.bin, args, { cwd: operator.dir, env });
      // The operator's work before the instances start: nothing here depends on changes reaching running ones.
      keys.acme = mt("tenant", "add", "acme", "--json").json().api_key;
      keys.limited = mt("tenant", "add", "limited", "--json").json().api_key;
      expect(mt("tenant", "set-limit", "limited", "--rate-limit", "30", "--max-concurrency", "1000").code).toBe(0);
      for (const { dir, bin } of dirs) servers.push(await startServe(bin, dir, [], env));
      front = await startNginx(servers.map((s) => s.port));
    });
    afterAll(async () => {
      await front?.stop();
      await Promise.all(servers.map((s) => s.stop("SIGKILL")));
      redis?.stop();
    });

    // Each request carries a tag in its query string (mcp-mt serves /mcp whatever the query), so the access
    // log tells which instance answered which test's requests.
    const rpc = (origin: string, key: string, method: string, params: Record<string, unknown> = {}, tag = "untagged") => {
      const { body, headers } = modernRequest(method, params);
      return fetch(`${origin}/mcp?t=${tag}`, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
    };
    const tool = async (origin: string, key: string, name: string, args: Record<string, unknown>, tag?: string) => {
      const response = await rpc(origin, key, "tools/call", { name, arguments: args }, tag);
      return { status: response.status, body: (await response.json()) as any };
    };
    /** The port of the instance that answered each request tagged `tag` (nginx logs a request just after answering it). */
    const answeredBy = async (tag: string, count: number) => {
      let entries = front.accessLog().filter((e) => e.uri === `POST /mcp?t=${tag}`);
      for (let i = 0; i < 100 && entries.length < count; i++) {
        await Bun.sleep(20);
        entries = front.accessLog().filter((e) => e.uri === `POST /mcp?t=${tag}`);
      }
      expect(entries.length).toBe(count);
      return entries.map((e) => Number(e.upstreams.at(-1)!.split(":").at(-1)));
    };
    const created: string[] = [];

    test("round robin over the three: 6 calls, two on each, the same key accepted by all", async () => {
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await rpc(front.origin, keys.acme!, "tools/list", {}, "rr")).status);
      expect(statuses).toEqual(Array(6).fill(200));
      expect((await answeredBy("rr", 6)).toSorted()).toEqual(servers.flatMap((s) => [s.port, s.port]).toSorted());
    });

    test.skipIf(!layout.documents)("writes through nginx land on different instances and every instance reads all of them", async () => {
      for (let i = 0; i < 9; i++) {
        const { status, body } = await tool(front.origin, keys.acme!, "create_document", { title: `Doc ${i}`, content: `written through nginx, call ${i}` }, "writes");
        expect(status).toBe(200);
        created.push(body.result.structuredContent.id);
      }
      expect(new Set(await answeredBy("writes", 9)).size).toBe(3);
      for (const server of servers) {
        const { body } = await tool(server.origin, keys.acme!, "list_documents", { limit: 100 });
        expect(body.result.structuredContent.documents.map((d: any) => d.id).toSorted()).toEqual(created.toSorted());
      }
    });

    test("a rate limit of 30 a minute holds for the three together: 60 concurrent calls through nginx, exactly 30 admitted", async () => {
      const responses = await Promise.all(Array.from({ length: 60 }, () => tool(front.origin, keys.limited!, "list_documents", {}, "limited")));
      expect(responses.filter((r) => r.status === 200).length).toBe(30);
      expect(responses.filter((r) => r.status === 429).length).toBe(30);
      expect(new Set(await answeredBy("limited", 60)).size).toBe(3);
    });

    test("one instance killed with SIGKILL: the other two answer every following call", async () => {
      const killed = servers[1]!;
      await killed.stop("SIGKILL");
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await rpc(front.origin, keys.acme!, "tools/list", {}, "after-kill")).status);
      expect(statuses).toEqual(Array(6).fill(200));
      expect(await answeredBy("after-kill", 6)).not.toContain(killed.port);
    });

    test.skipIf(!layout.documents)("after the kill no acknowledged write is lost", async () => {
      const { body } = await tool(front.origin, keys.acme!, "list_documents", { limit: 100 });
      expect(body.result.structuredContent.documents.map((d: any) => d.id).toSorted()).toEqual(created.toSorted());
    });
  });
}
