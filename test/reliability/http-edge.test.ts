/**
 * The public port under attack, against the compiled binary: each attack (scaled down) ends with the
 * attacker getting the documented error, and another tenant's call succeeding meanwhile.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";
import { inventedKey, metricsUrl, RawConnection, requestSeries } from "./raw-http.ts";

let dir: string;
let bin: string;
let edge: ServerProcess;
const keys: Record<string, string> = {};
const metricsToken = "metrics-token-for-the-edge-test";

const rpcCall = (tool: string, args: Record<string, unknown> = {}, id: number | string = 1) => modernRequest("tools/call", { name: tool, arguments: args }, id);

/** A tool call through fetch (a fresh or pooled connection), from a claimed client address. */
async function call(key: string | null, tool = "list_documents", from = "198.51.100.1", method = "tools/call"): Promise<Response> {
  const { body, headers } = method === "tools/call" ? rpcCall(tool) : modernRequest(method);
  return fetch(edge.url, { method: "POST", headers: { ...headers, ...(key ? { authorization: `Bearer ${key}` } : {}), "x-forwarded-for": from }, body: JSON.stringify(body) });
}

/** A request on a raw connection (headers as a real client would send them). */
function rawCall(key: string | null, from: string, extra: Record<string, string> = {}) {
  const { body, headers } = rpcCall("list_documents");
  return { body: JSON.stringify(body), headers: { ...headers, ...(key ? { authorization: `Bearer ${key}` } : {}), "x-forwarded-for": from, ...extra } };
}

const victimServed = async () => expect((await call(keys.victim!, "list_documents", "198.51.100.200")).status).toBe(200);

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  const mt = (...args: string[]) => run(bin, args, { cwd: dir });
  keys.victim = mt("tenant", "add", "victim", "--json").json().api_key;
  keys.attacker = mt("tenant", "add", "attacker", "--json").json().api_key;
  keys.bulk = mt("tenant", "add", "bulk", "--plan", "enterprise", "--json").json().api_key;
  edge = await startServe(bin, dir, [], {
    MCP_MT_SERVER_TRUST_PROXY: "true",
    MCP_MT_SERVER_BODY_TIMEOUT_MS: "1000",
    MCP_MT_SERVER_MAX_BODY_READS_PER_ADDRESS: "3",
    MCP_MT_SERVER_IDLE_TIMEOUT_MS: "1000",
    MCP_MT_LOG_LEVEL: "debug",
    MCP_MT_METRICS_TOKEN: metricsToken,
  });
});
afterAll(async () => {
  await edge?.stop();
  cleanupTempDirs();
});

const scrape = async () => (await fetch(metricsUrl(edge.stderr()), { headers: { authorization: `Bearer ${metricsToken}` } })).text();

describe("unauthenticated requests: refused from the headers, the body never read", () => {
  const cases: { name: string; headers: Record<string, string>; message: RegExp }[] = [
    { name: "no credentials", headers: {}, message: expect.stringMatching(/missing credentials/) },
    { name: "a malformed Authorization header", headers: { authorization: "Basic Zm9vOmJhcg==" }, message: expect.stringMatching(/malformed Authorization header/) },
    { name: "an unknown API key", headers: { authorization: `Bearer ${inventedKey("nosuchkey")}` }, message: expect.stringMatching(/Unauthorized/) },
  ];
  for (const { name, headers, message } of cases) {
    test(`${name}: 401 with a JSON-RPC body before the 1 MiB body is sent, and the connection closed`, async () => {
      const conn = await RawConnection.open(edge.port);
      // Only the head and a few bytes of a declared 1 MiB body: the answer must not wait for the rest.
      const request = rawCall(null, "203.0.113.1", headers);
      conn.send({ headers: request.headers, partialBody: request.body.slice(0, 10), contentLength: 1024 * 1024 });
      const response = await conn.response();
      expect(response.status).toBe(401);
      expect(response.headers.connection).toBe("close");
      expect(response.json()).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32001, message } });
      expect(await conn.closesWithin(5_000)).toBe(true);
      await victimServed();
    });
  }
});

describe("failed authentication never refuses a valid credential", () => {
  test("21+ bad keys from one address: that key id gets 429, a valid key from the same address is served", async () => {
    const from = "203.0.113.21";
    const bad = inventedKey("badbadbadbad");
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await call(bad, "list_documents", from)).status);
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(statuses.slice(20)).toEqual(Array(5).fill(429));
    const refused = await call(bad, "list_documents", from);
    expect(await refused.json()).toMatchObject({ error: { code: -32001, message: expect.stringMatching(/Too many failed authentication attempts with this credential from this address/) } });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await call(keys.attacker!, "list_documents", from)).status).toBe(200);
    expect((await call(keys.victim!, "list_documents", from)).status).toBe(200);
  });

  test("an X-Forwarded-For that is not an IP address is ignored: the socket address is used", async () => {
    const bad = inventedKey("spoofspoofsp");
    // Each request invents a new "address"; they all count against the real one, so the 21st is refused.
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await call(bad, "list_documents", `evil-${i}.example`)).status);
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(statuses[20]).toBe(429);
    // a valid address in the header is still honoured (trust_proxy), and a valid key from the socket address works
    expect((await call(bad, "list_documents", "192.0.2.77")).status).toBe(401);
    expect((await call(keys.victim!, "list_documents", "not an ip")).status).toBe(200);
  });
});

describe("metrics labels stay bounded", () => {
  test("1,000 invented method names and 1,000 invented tool names add no series", async () => {
    // One of each first: the "other" series exist from then on.
    const invent = async (i: number) => {
      const method = await call(keys.bulk!, "", "198.51.100.9", `invented/${i}-${"m".repeat(2_000)}`);
      const tool = await call(keys.bulk!, `invented_tool_${i}_${"t".repeat(2_000)}`, "198.51.100.9");
      return [method.status, tool.status];
    };
    const noKey = async (i: number) => (await fetch(edge.url, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": `192.0.2.${i % 250}` }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: `x/${i}` }) })).status;
    expect(await invent(0)).toEqual([404, 200]);
    expect(await noKey(0)).toBe(401);
    const before = await scrape();
    // 20 at a time (40 requests in flight): within the plan's concurrency, so every status is one seen before
    for (let i = 1; i <= 1_000; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => invent(i + j)));
    for (let i = 1; i <= 200; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => noKey(i + j)));
    const after = await scrape();
    expect(requestSeries(after)).toBe(requestSeries(before));
    expect(after).toMatch(/^mcp_mt_requests_total\{tenant="bulk",method="other",status="404"\} \d+$/m);
    expect(after).toMatch(/^mcp_mt_requests_total\{tenant="bulk",method="tools\/call",tool="other",status="200"\} \d+$/m);
    expect(after).not.toContain("invented");
    // the log keeps every line short: invented names are cut, never written whole
    expect(edge.stderr().split("\n").every((line) => line.length < 3_000)).toBe(true);
    await victimServed();
  });

  test("/metrics is refused on the public port without the token, served with it", async () => {
    expect((await fetch(`${edge.origin}/metrics`)).status).toBe(401);
    expect((await fetch(`${edge.origin}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).status).toBe(200);
  });
});

describe("request bodies", () => {
  test("a body over the limit (200,000 × U+0001, 1.2 MB escaped): 413 naming the limit, the connection kept", async () => {
    const conn = await RawConnection.open(edge.port);
    const { body, headers } = rpcCall("create_document", { title: "x", content: "\u0001".repeat(200_000) });
    const text = JSON.stringify(body);
    expect(text.length).toBeGreaterThan(1_200_000);
    conn.send({ headers: { ...headers, authorization: `Bearer ${keys.attacker}`, "x-forwarded-for": "203.0.113.13" }, body: text });
    const tooLarge = await conn.response();
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32000, message: "Payload Too Large: the body exceeds server.max_body_bytes (1048576 bytes)", data: { max_bytes: 1048576 } } });
    expect(tooLarge.headers.connection).not.toBe("close");
    // the same connection serves the next request
    const next = rawCall(keys.attacker!, "203.0.113.13");
    conn.send(next);
    expect((await conn.response()).status).toBe(200);
    conn.close();
  });

  test("a declared body past 4 times the limit: 413 naming the limit at once, the connection closed (not worth draining)", async () => {
    const conn = await RawConnection.open(edge.port);
    const request = rawCall(keys.attacker!, "203.0.113.17");
    conn.send({ headers: request.headers, partialBody: request.body.slice(0, 20), contentLength: 5 * 1024 * 1024 });
    const response = await conn.response();
    expect(response.status).toBe(413);
    expect(response.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32000, message: "Payload Too Large: the body exceeds server.max_body_bytes (1048576 bytes)" } });
    expect(await conn.closesWithin(5_000)).toBe(true);
  });

  test("a chunked body growing past the limit: 413 naming the limit, the connection closed", async () => {
    const conn = await RawConnection.open(edge.port);
    const { headers } = rawCall(keys.attacker!, "203.0.113.18");
    const head = Object.entries({ ...headers, host: "127.0.0.1", "transfer-encoding": "chunked" }).map(([k, v]) => `${k}: ${v}`).join("\r\n");
    const chunk = "x".repeat(256 * 1024);
    conn.write(`POST /mcp HTTP/1.1\r\n${head}\r\n\r\n`);
    for (let i = 0; i < 5 && !conn.closed; i++) conn.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const response = await conn.response();
    expect(response.status).toBe(413);
    expect(response.json()).toMatchObject({ error: { message: "Payload Too Large: the body exceeds server.max_body_bytes (1048576 bytes)" } });
    expect(await conn.closesWithin(5_000)).toBe(true);
  });

  test("a body that stalls after the headers: 408 after server.body_timeout_ms, the connection closed; others served meanwhile", async () => {
    const conn = await RawConnection.open(edge.port);
    const request = rawCall(keys.attacker!, "203.0.113.14");
    conn.send({ headers: request.headers, partialBody: request.body.slice(0, 20), contentLength: request.body.length });
    await victimServed();
    const response = await conn.response();
    expect(response.status).toBe(408);
    expect(response.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32000, message: "Request Timeout: the body did not arrive within server.body_timeout_ms (1000 ms)" } });
    expect(await conn.closesWithin(5_000)).toBe(true);
  });

  test("slow bodies are capped per client address: the 4th gets 429 and is closed; another address is served", async () => {
    const from = "203.0.113.15";
    const slow = await Promise.all([1, 2, 3].map(() => RawConnection.open(edge.port)));
    for (const conn of slow) {
      const request = rawCall(keys.attacker!, from);
      conn.send({ headers: request.headers, partialBody: request.body.slice(0, 20), contentLength: request.body.length });
    }
    await Bun.sleep(200);
    const fourth = await RawConnection.open(edge.port);
    const request = rawCall(keys.attacker!, from);
    fourth.send({ headers: request.headers, partialBody: request.body.slice(0, 20), contentLength: request.body.length });
    const refused = await fourth.response();
    expect(refused.status).toBe(429);
    expect(refused.json()).toMatchObject({ error: { message: expect.stringMatching(/server\.max_body_reads_per_address = 3/) } });
    expect(await fourth.closesWithin(5_000)).toBe(true);
    await victimServed();
    for (const conn of slow) expect((await conn.response()).status).toBe(408);
  });

  test("a client disconnecting mid-body is a client abort (499, debug), never a 500 or an error line", async () => {
    const conn = await RawConnection.open(edge.port);
    const request = rawCall(keys.attacker!, "203.0.113.16");
    conn.send({ headers: request.headers, partialBody: request.body.slice(0, 20), contentLength: request.body.length });
    await Bun.sleep(200);
    conn.close();
    await Bun.sleep(500);
    const lines = edge.stderr().split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
    expect(lines.some((line) => line.msg === "request aborted by the client" && line.level === "debug" && line.status === 499)).toBe(true);
    expect(lines.some((line) => line.level === "error")).toBe(false);
    const metrics = await scrape();
    expect(metrics).toMatch(/^mcp_mt_requests_total\{tenant="attacker",status="499"\} 1$/m);
    expect(metrics).not.toMatch(/status="500"/);
    await victimServed();
  });
});

describe("connections", () => {
  test("an idle keep-alive connection, and one that never sends a request, are closed after the idle timeout", async () => {
    const used = await RawConnection.open(edge.port);
    used.send(rawCall(keys.victim!, "198.51.100.3"));
    expect((await used.response()).status).toBe(200);
    const silent = await RawConnection.open(edge.port);
    // idle_timeout_ms = 1000; Bun checks on a coarse timer, so allow well beyond it (never "held forever")
    expect(await used.closesWithin(15_000)).toBe(true);
    expect(await silent.closesWithin(15_000)).toBe(true);
  });

  test("connections per client address are capped: the one too many gets 429 and is closed; another address is served", async () => {
    const { dir: capDir, bin: capBin } = binaryInEmptyDir();
    const key = run(capBin, ["tenant", "add", "capped", "--json"], { cwd: capDir }).json().api_key;
    const server = await startServe(capBin, capDir, [], { MCP_MT_SERVER_MAX_CONNECTIONS_PER_ADDRESS: "4", MCP_MT_SERVER_IDLE_TIMEOUT_MS: "30000" });
    try {
      const request = () => {
        const { body, headers } = rpcCall("list_documents");
        return { body: JSON.stringify(body), headers: { ...headers, authorization: `Bearer ${key}` } };
      };
      const open = await Promise.all([1, 2, 3, 4].map(() => RawConnection.open(server.port, "127.0.0.3")));
      for (const conn of open) {
        conn.send(request());
        expect((await conn.response()).status).toBe(200);
      }
      const extra = await RawConnection.open(server.port, "127.0.0.3");
      extra.send(request());
      const refused = await extra.response();
      expect(refused.status).toBe(429);
      expect(refused.json()).toMatchObject({ jsonrpc: "2.0", error: { message: expect.stringMatching(/Too many connections from this address \(server\.max_connections_per_address = 4\)/) } });
      expect(await extra.closesWithin(5_000)).toBe(true);
      // the connections already open keep working, and another address is not affected
      open[0]!.send(request());
      expect((await open[0]!.response()).status).toBe(200);
      const other = await RawConnection.open(server.port, "127.0.0.4");
      other.send(request());
      expect((await other.response()).status).toBe(200);
      // a connection that closes frees its place
      open[1]!.send({ ...request(), headers: { ...request().headers, connection: "close" } });
      expect((await open[1]!.response()).status).toBe(200);
      const again = await RawConnection.open(server.port, "127.0.0.3");
      again.send(request());
      expect((await again.response()).status).toBe(200);
      for (const conn of [...open, other, again]) conn.close();
    } finally {
      await server.stop();
    }
  });
});
