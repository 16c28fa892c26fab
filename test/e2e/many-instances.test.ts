/**
 * Several `mcp-mt serve` instances on one control plane sharing one real redis-server: the monthly quota is
 * exact in total, a sign-in started on one instance completes on the other, lockouts count every instance's
 * wrong passwords, and /ready follows Redis (503 naming it when required, degraded when not, recovered after).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { formFields, PlainBrowser } from "../helpers/oauth-browser.ts";
import { authorizeUrl, callTool, exchange, pkcePair, registerClient } from "../helpers/oauth-protocol.ts";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let redis: RedisServer;
let dir: string;
let bin: string;
/** failure_mode closed: Redis is required. */
let a: ServerProcess;
/** failure_mode open: a Redis outage only degrades it. */
let b: ServerProcess;
let password: string;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });
// Both instances answer for one public address (instance a's), as behind a load balancer: one issuer, one audience.
const ports = [0, 1].map(() => 20_000 + Math.floor(Math.random() * 20_000));
const publicUrl = `http://127.0.0.1:${ports[0]}`;

/** startServe reports the public URL; the instance's own address is its port's. */
async function instance(port: number, config: string): Promise<ServerProcess> {
  const server = await startServe(bin, dir, ["--config", config, "--port", String(port)]);
  const origin = `http://127.0.0.1:${port}`;
  return { ...server, origin, url: `${origin}/mcp`, port };
}

function configFile(name: string, failureMode: "open" | "closed"): string {
  const path = join(dir, name);
  writeFileSync(path, `[server]\npublic_url = "${publicUrl}"\n\n[limits]\nredis_url = "${redis.url}"\nredis_timeout_ms = 2000\nconcurrency_wait_ms = 0\nfailure_mode = "${failureMode}"\n`);
  return path;
}

beforeAll(async () => {
  redis = await startRedis();
  ({ dir, bin } = binaryInEmptyDir());
  mt("tenant", "add", "acme");
  password = mt("member", "add", "acme", "alice@acme.example", "--role", "admin", "--json").json().password;
  mt("member", "add", "acme", "bob@acme.example", "--json");
  a = await instance(ports[0]!, configFile("a.toml", "closed"));
  b = await instance(ports[1]!, configFile("b.toml", "open"));
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
  cleanupTempDirs();
});

const call = (server: ServerProcess, key: string, id: number) => {
  const { body, headers } = modernRequest("tools/call", { name: "list_documents", arguments: { limit: 1 } }, id);
  return fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
};

describe("many instances, one truth", () => {
  test("a monthly quota of 40 admits exactly 40 of 200 calls spread over two instances", async () => {
    const key = mt("tenant", "add", "metered", "--json").json().api_key;
    mt("tenant", "set-limit", "metered", "--monthly-tool-calls", "40", "--rate-limit", "10000", "--max-concurrency", "1000");
    const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => call(i % 2 ? a : b, key, i)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBe(40);
    expect(statuses.filter((s) => s === 429).length).toBe(160);
    const refused = (await responses[statuses.indexOf(429)]!.json()) as any;
    expect(refused.error.message).toMatch(/^Monthly tool-call quota reached: 40 of 40 calls used in \d{4}-\d\d; it resets at /);
  });

  test("storage quota: two instances writing one tenant's file store exactly max_documents (the check is inside the write transaction)", async () => {
    const key = mt("tenant", "add", "writers", "--json").json().api_key;
    mt("tenant", "set-limit", "writers", "--max-documents", "25", "--rate-limit", "10000", "--max-concurrency", "1000");
    const create = (server: ServerProcess, i: number) => {
      const { body, headers } = modernRequest("tools/call", { name: "create_document", arguments: { title: `doc ${i}`, content: "x".repeat(100) } }, i);
      return fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
    };
    const results = await Promise.all(Array.from({ length: 80 }, (_, i) => create(i % 2 ? a : b, i)));
    expect(results.filter((r) => r.result && !r.result.isError).length).toBe(25);
    const refused = results.filter((r) => !(r.result && !r.result.isError)).map((r) => JSON.stringify(r));
    expect(refused.length).toBe(55);
    for (const text of refused) expect(text).toContain("Storage quota reached: 25 of 25 documents stored.");
    const { body, headers } = modernRequest("tools/call", { name: "list_documents", arguments: { limit: 100 } }, 1);
    const listed = (await (await fetch(a.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) })).json()) as any;
    expect(listed.result.structuredContent.documents.length).toBe(25);
  });

  test("a sign-in started on instance 1 continues on instance 2: sign-in form, consent, token exchange, MCP call", async () => {
    const redirect = "http://127.0.0.1:9/callback";
    const client = await registerClient(a.origin, [redirect]);
    const pkce = pkcePair();
    const browser = new PlainBrowser();
    const url = authorizeUrl(a.origin, { client_id: client, redirect_uri: redirect, code_challenge: pkce.challenge, resource: `${publicUrl}/mcp` });
    const signInPage = await browser.get(url);
    expect(signInPage.status).toBe(200);
    // The form (its CSRF token and request id came from instance 1) is posted to instance 2.
    const fields = formFields(signInPage.html, "/oauth/sign-in");
    fields.push(["email", "alice@acme.example"], ["password", password]);
    const consent = await browser.follow(await browser.post(`${b.origin}/oauth/sign-in`, fields), b.origin);
    expect(consent.html).toContain('action="/oauth/consent"');
    // Consent back on instance 1; the code it issues is exchanged on instance 2.
    const done = await browser.post(`${a.origin}/oauth/consent`, [...formFields(consent.html, "/oauth/consent"), ["decision", "allow"]]);
    const code = new URL(done.location!).searchParams.get("code")!;
    expect(code).toBeTruthy();
    const tokens = await exchange(b.origin, client, redirect, code, pkce.verifier);
    expect(tokens.status).toBe(200);
    // The token from instance 2 works on both instances.
    for (const server of [a, b]) expect((await callTool(server.url, tokens.body.access_token, "list_documents")).status).toBe(200);
    // The code is single-use on every instance: presented again on instance 1, it is refused and its grant revoked.
    expect((await exchange(a.origin, client, redirect, code, pkce.verifier)).body.error).toBe("invalid_grant");
    // Each instance re-reads the grant once its short authentication cache expires.
    for (const server of [a, b]) {
      let status = 0;
      for (let i = 0; i < 30 && status !== 401; i++, await Bun.sleep(100)) status = (await callTool(server.url, tokens.body.access_token, "list_documents")).status;
      expect(status).toBe(401);
    }
  });

  test("wrong passwords on both instances add up to one lockout", async () => {
    const client = await registerClient(a.origin, ["http://127.0.0.1:9/cb"]);
    const attempt = async (server: ServerProcess, pass: string) => {
      const browser = new PlainBrowser();
      const page = await browser.get(authorizeUrl(server.origin, { client_id: client, redirect_uri: "http://127.0.0.1:9/cb", code_challenge: pkcePair().challenge, resource: `${publicUrl}/mcp` }));
      const fields = formFields(page.html, "/oauth/sign-in");
      fields.push(["email", "bob@acme.example"], ["password", pass]);
      return (await browser.post(`${server.origin}/oauth/sign-in`, fields)).status;
    };
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push(await attempt(i % 2 ? a : b, "wrong password"));
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    // Three failures on b and two on a: locked on both.
    expect(await attempt(a, "wrong password")).toBe(423);
    expect(await attempt(b, "wrong password")).toBe(423);
  });

  test("/health and /ready answer like /healthz and /readyz", async () => {
    for (const server of [a, b]) {
      const [health, healthz, ready, readyz] = (await Promise.all(["/health", "/healthz", "/ready", "/readyz"].map((p) => fetch(`${server.origin}${p}`)))) as [Response, Response, Response, Response];
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual(await healthz.json());
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual(await readyz.json());
    }
    expect(await (await fetch(`${a.origin}/ready`)).json()).toMatchObject({ status: "ready", dependencies: { redis: "ok" } });
  });

  test("Redis stopped: /ready is 503 naming Redis where it is required, degraded where not; both recover when it returns", async () => {
    await redis.stop();
    try {
      const required = await fetch(`${a.origin}/ready`);
      expect(required.status).toBe(503);
      const body = (await required.json()) as any;
      expect(body).toMatchObject({ status: "unavailable", reason: "redis unreachable", failed: ["redis"] });
      expect(body.dependencies.redis).toStartWith("unreachable");
      const optional = await fetch(`${b.origin}/ready`);
      expect(optional.status).toBe(200);
      expect(await optional.json()).toMatchObject({ status: "degraded", reason: expect.stringContaining("limits.failure_mode = open") });
      // Liveness is not readiness: both processes are alive.
      expect((await fetch(`${a.origin}/health`)).status).toBe(200);
    } finally {
      await redis.start();
    }
    // Redis is back (empty): readiness recovers without a restart.
    for (let i = 0; i < 50 && (await fetch(`${a.origin}/ready`)).status !== 200; i++) await Bun.sleep(100);
    expect(await (await fetch(`${a.origin}/ready`)).json()).toMatchObject({ status: "ready", dependencies: { redis: "ok" } });
    expect(await (await fetch(`${b.origin}/ready`)).json()).toMatchObject({ status: "ready" });
  });
});
