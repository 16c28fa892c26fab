/** The running server's admin API (Unix socket), the CLI going through it, live figures and /metrics. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let server: ServerProcess;
let key: string;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });
const socket = () => join(dir, "data", "admin.sock");
const admin = async (path: string, init: RequestInit = {}) => (await fetch(`http://mcp-mt${path}`, { ...init, unix: socket() } as RequestInit)).json() as Promise<any>;

function call(tool: string, args: Record<string, unknown> = {}, bearer = key) {
  const { body, headers } = modernRequest("tools/call", { name: tool, arguments: args });
  return fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${bearer}` }, body: JSON.stringify(body) });
}

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  key = mt("tenant", "add", "acme", "--json").json().api_key;
  server = await startServe(bin, dir);
});
afterAll(async () => {
  await server?.stop();
  cleanupTempDirs();
});

describe("admin API", () => {
  test("the socket exists with mode 0600 and answers status", async () => {
    expect(statSync(socket()).mode & 0o777).toBe(0o600);
    const status = await admin("/v1/status");
    expect(status).toMatchObject({ draining: false, tenants: 1 });
  });

  test("CLI mutations go through the running server and take effect at once", async () => {
    expect((await call("list_documents")).status).toBe(200);
    // No wait: the server drops its auth cache when the admin API changes something.
    expect(mt("tenant", "suspend", "acme", "--json").json().status).toBe("suspended");
    expect((await call("list_documents")).status).toBe(403);
    expect(mt("tenant", "resume", "acme", "--json").json().status).toBe("active");
    expect((await call("list_documents")).status).toBe(200);
    const extra = mt("key", "create", "acme", "--json").json();
    expect((await call("list_documents", {}, extra.api_key)).status).toBe(200);
    expect(mt("key", "revoke", extra.id, "--json").json().state).toBe("revoked");
    expect((await call("list_documents", {}, extra.api_key)).status).toBe(401);
    const added = mt("tenant", "add", "beta", "--plan", "pro", "--json");
    expect(added.code).toBe(0);
    expect((await call("list_documents", {}, added.json().api_key)).status).toBe(200);
    // the audit log names the operator who acted through the API
    const entry = (mt("audit", "show", "--tenant", "acme", "--json").json().entries as any[]).find((e) => e.action === "tenant.suspended");
    expect(entry.actor).toMatch(/^operator:/);
  });

  test("errors come back with the service's message", () => {
    const bad = mt("tenant", "set-plan", "acme", "platinum");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown plan "platinum"');
    expect(mt("tenant", "suspend", "ghost").stderr).toContain("tenant ghost does not exist");
  });

  test("live figures per tenant: requests, rate-limited, latency, in flight, database open", async () => {
    for (let i = 0; i < 5; i++) await call("list_documents");
    const { tenants } = await admin("/v1/tenants");
    const acme = tenants.find((t: { id: string }) => t.id === "acme");
    expect(acme.live.requests_per_minute).toBeGreaterThanOrEqual(8);
    expect(acme.live.latency_ms.p50).toBeGreaterThan(0);
    expect(acme.live).toMatchObject({ in_flight: 0, database_open: true, errors_per_minute: 0 });
    expect(acme.usage.tool_calls).toBeGreaterThanOrEqual(8);
    const detail = await admin("/v1/tenants/acme");
    expect(detail.api_keys.length).toBeGreaterThanOrEqual(2);
    expect(detail.audit.length).toBeGreaterThan(0);
  });

  test("/metrics exposes requests, latency histograms, rate limits, open databases, flush lag and process figures", async () => {
    // without a token, only the metrics listener (metrics.listen) serves them, never the public port
    const publicPort = await fetch(`${server.origin}/metrics`);
    expect(publicPort.status).toBe(403);
    expect(await publicPort.text()).toContain("MCP_MT_METRICS_TOKEN");
    const metricsUrl = JSON.parse(server.stderr().split("\n").find((line) => line.includes('"metrics listening"'))!).url;
    const text = await (await fetch(metricsUrl)).text();
    expect(text).toMatch(/^mcp_mt_requests_total\{tenant="acme",method="tools\/call",tool="list_documents",status="200"\} \d+$/m);
    // refused before a tenant is resolved (suspended), from the headers alone: counted by status only
    expect(text).toMatch(/^mcp_mt_requests_total\{status="403"\} 1$/m);
    expect(text).toMatch(/^mcp_mt_request_duration_seconds_bucket\{tenant="acme",method="tools\/call",le="\+Inf"\} \d+$/m);
    expect(text).toMatch(/^mcp_mt_open_tenant_databases [1-9]\d*$/m);
    expect(text).toMatch(/^mcp_mt_usage_flush_lag_seconds \d+(\.\d+)?$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
    expect(text).toMatch(/^process_open_fds \d+$/m);
    expect(text).toContain("# TYPE mcp_mt_request_duration_seconds histogram");
  });
});

describe("one server per data directory", () => {
  test("a second server on the same directory is refused with a clear message", () => {
    const second = run(bin, ["serve", "--port", "0"], { cwd: dir });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("is using");
    expect(second.stderr).toContain("limits.redis_url");
  });
});

describe("admin API over loopback TCP", () => {
  test("needs the admin token", async () => {
    const { dir: other, bin: otherBin } = binaryInEmptyDir();
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const tcp = await startServe(otherBin, other, [], { MCP_MT_ADMIN_TCP_PORT: String(port), MCP_MT_ADMIN_TOKEN: "t0ken-for-the-admin-api" });
    try {
      expect((await fetch(`http://127.0.0.1:${port}/v1/status`)).status).toBe(401);
      const ok = await fetch(`http://127.0.0.1:${port}/v1/status`, { headers: { authorization: "Bearer t0ken-for-the-admin-api" } });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as any).tenants).toBe(0);
    } finally {
      await tcp.stop();
    }
  });
});

describe("without a running server", () => {
  test("the CLI works on the files directly", async () => {
    await server.stop();
    expect(mt("tenant", "suspend", "beta", "--json").json().status).toBe("suspended");
    expect(mt("tenant", "resume", "beta", "--json").json().status).toBe("active");
  });
});
