/** The operator's side of the authorization server: member and client commands, sign-in links, key rotation, and OAuth off. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeProtectedHeader } from "jose";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { formFields, PlainBrowser } from "../helpers/oauth-browser.ts";
import { callTool, codeFor, exchange, registerClient, tokenRequest } from "../helpers/oauth-protocol.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let server: ServerProcess;
let password: string;
const redirect = "http://127.0.0.1:40999/cb";
const mt = (...args: string[]) => run(bin, args, { cwd: dir });

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  mt("tenant", "add", "acme");
  mt("tenant", "add", "other");
  password = mt("member", "add", "acme", "ops@acme.example", "--json").json().password;
  server = await startServe(bin, dir);
});
afterAll(async () => {
  await server?.stop();
  cleanupTempDirs();
});

describe("member commands refuse bad input with a clear message", () => {
  const rows: [string, string[], RegExp][] = [
    ["a malformed email", ["member", "add", "acme", "not-an-email"], /is not an email address/],
    ["an unknown role", ["member", "add", "acme", "x@acme.example", "--role", "owner"], /--role must be one of admin, member, readonly/],
    ["an unknown tenant", ["member", "add", "nope", "x@acme.example"], /tenant nope does not exist/],
    ["a duplicate member", ["member", "add", "acme", "ops@acme.example"], /already a member of acme/],
    ["a short password", ["member", "add", "acme", "y@acme.example", "--password-stdin"], /at least 12 characters/],
    ["reset of an unknown member", ["member", "reset", "ghost@acme.example"], /no member ghost@acme.example/],
    ["a client without redirect URI", ["oauth", "client", "add", "--name", "x"], /at least one --redirect-uri/],
    ["a client with http to a public host", ["oauth", "client", "add", "--name", "x", "--redirect-uri", "http://evil.example/cb"], /only allowed to a loopback address/],
    ["revoking an unknown grant", ["oauth", "revoke", "g_nope"], /no grant g_nope/],
  ];
  test.each(rows)("%s", (_name, args, message) => {
    const result = run(bin, args, { cwd: dir, stdin: "short\n" });
    expect(result.code).toBeGreaterThan(0);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain("    at ");
  });

  test("a password given on stdin works, and is not echoed", async () => {
    const result = run(bin, ["member", "add", "acme", "stdin@acme.example", "--password-stdin", "--json"], { cwd: dir, stdin: "correct horse battery staple\n" });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("correct horse");
    const clientId = await registerClient(server.origin, [redirect]);
    const { code, pkce } = await codeFor(server.origin, clientId, redirect, { email: "stdin@acme.example", password: "correct horse battery staple" });
    expect((await exchange(server.origin, clientId, redirect, code, pkce.verifier)).status).toBe(200);
  });
});

describe("scopes asked for by the client", () => {
  test("offline_access is accepted (every grant has a refresh token) and the grant is what was asked", async () => {
    const clientId = await registerClient(server.origin, [redirect]);
    const { code, pkce } = await codeFor(server.origin, clientId, redirect, { email: "ops@acme.example", password }, undefined, { scope: "documents:read offline_access" });
    const tokens = (await exchange(server.origin, clientId, redirect, code, pkce.verifier)).body;
    expect(tokens.scope).toBe("documents:read");
    expect(tokens.refresh_token).toStartWith("mcpmt_rt_");
  });
});

describe("one-time sign-in links", () => {
  test("a link signs the member in once; a second use gets the expired-link page", async () => {
    const url = mt("member", "link", "ops@acme.example", "--json").json().url as string;
    const link = new URL(url);
    const local = `${server.origin}${link.pathname}${link.search}`;
    const browser = new PlainBrowser();
    const page = await browser.get(local);
    expect(page.status).toBe(200);
    const signedIn = await browser.follow(await browser.post(`${server.origin}/oauth/link`, formFields(page.html, "/oauth/link")), server.origin);
    expect(signedIn.html).toContain("Connected apps");
    expect(signedIn.html).toContain("ops@acme.example");
    const again = new PlainBrowser();
    const second = await again.post(`${server.origin}/oauth/link`, formFields((await again.get(local)).html, "/oauth/link"));
    expect(second.status).toBe(400);
    expect(second.html).toContain("Link expired");
  });
});

describe("pre-registered clients, key rotation, reset and key revocation", () => {
  test("a client made with `oauth client add` completes the flow", async () => {
    const added = mt("oauth", "client", "add", "--name", "Team Bot", "--redirect-uri", redirect, "--json");
    expect(added.code).toBe(0);
    const clientId = added.json().client_id;
    const { code, pkce } = await codeFor(server.origin, clientId, redirect, { email: "ops@acme.example", password });
    const tokens = await exchange(server.origin, clientId, redirect, code, pkce.verifier);
    expect(tokens.status).toBe(200);
    expect((await callTool(server.url, tokens.body.access_token, "list_documents")).status).toBe(200);
    expect(mt("oauth", "client", "list", "--json").json().clients.map((c: any) => c.client_name)).toContain("Team Bot");
  });

  test("rotate-keys: new tokens use the new key, tokens of the old one stay valid during the grace period", async () => {
    const clientId = await registerClient(server.origin, [redirect]);
    const before = await codeFor(server.origin, clientId, redirect, { email: "ops@acme.example", password });
    const old = (await exchange(server.origin, clientId, redirect, before.code, before.pkce.verifier)).body;
    const rotated = mt("oauth", "rotate-keys", "--json");
    expect(rotated.code).toBe(0);
    const { kid, retired } = rotated.json();
    expect(retired).toEqual([decodeProtectedHeader(old.access_token).kid]);
    await Bun.sleep(1_100);
    const jwks = (await (await fetch(`${server.origin}/oauth/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([kid, ...retired].sort());
    const fresh = (await tokenRequest(server.origin, { grant_type: "refresh_token", client_id: clientId, refresh_token: old.refresh_token })).body;
    expect(decodeProtectedHeader(fresh.access_token).kid).toBe(kid);
    expect((await callTool(server.url, old.access_token, "list_documents")).status).toBe(200);
    expect((await callTool(server.url, fresh.access_token, "list_documents")).status).toBe(200);
    expect(mt("oauth", "rotate-keys", "--grace", "1s").stderr).toContain("at least auth.oauth.access_token_ttl");
  });

  test("member reset revokes the member's grants; the old password stops working", async () => {
    const added = run(bin, ["member", "add", "acme", "reset2@acme.example", "--password-stdin"], { cwd: dir, stdin: "first password 123\n" });
    expect(added.code).toBe(0);
    const clientId = await registerClient(server.origin, [redirect]);
    const { code, pkce } = await codeFor(server.origin, clientId, redirect, { email: "reset2@acme.example", password: "first password 123" });
    const tokens = (await exchange(server.origin, clientId, redirect, code, pkce.verifier)).body;
    expect(run(bin, ["member", "reset", "reset2@acme.example", "--password-stdin"], { cwd: dir, stdin: "second password 456\n" }).code).toBe(0);
    await Bun.sleep(1_100);
    expect((await callTool(server.url, tokens.access_token, "list_documents")).status).toBe(401);
    await expect(codeFor(server.origin, clientId, redirect, { email: "reset2@acme.example", password: "first password 123" })).rejects.toThrow();
  });

  test("a grant signed with an API key ends when the key is revoked", async () => {
    const key = mt("key", "create", "other", "--json").json();
    const clientId = await registerClient(server.origin, [redirect]);
    const { code, pkce } = await codeFor(server.origin, clientId, redirect, { apiKey: key.api_key });
    const tokens = (await exchange(server.origin, clientId, redirect, code, pkce.verifier)).body;
    expect((await callTool(server.url, tokens.access_token, "list_documents")).status).toBe(200);
    expect(mt("key", "revoke", key.id).code).toBe(0);
    await Bun.sleep(1_100);
    const refused = await callTool(server.url, tokens.access_token, "list_documents");
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toContain("API key");
    expect((await tokenRequest(server.origin, { grant_type: "refresh_token", client_id: clientId, refresh_token: tokens.refresh_token })).body.error).toBe("invalid_grant");
  });
});

describe("with OAuth off, clients are told the truth", () => {
  let off: ServerProcess;
  let offDir: string;
  let offBin: string;
  let readKey: string;
  beforeAll(async () => {
    ({ dir: offDir, bin: offBin } = binaryInEmptyDir());
    readKey = run(offBin, ["tenant", "add", "acme", "--json"], { cwd: offDir }).json().api_key;
    readKey = run(offBin, ["key", "create", "acme", "--scopes", "documents:read", "--json"], { cwd: offDir }).json().api_key;
    writeFileSync(join(offDir, "mcp-mt.toml"), `[auth.oauth]\nenabled = "off"\n`);
    off = await startServe(offBin, offDir);
  });
  afterAll(async () => {
    await off?.stop();
  });

  test("no authorization server is advertised and its endpoints do not exist", async () => {
    const metadata = (await (await fetch(`${off.origin}/.well-known/oauth-protected-resource/mcp`)).json()) as any;
    expect(metadata.authorization_servers).toEqual([]);
    expect((await fetch(`${off.origin}/.well-known/oauth-authorization-server`)).status).toBe(404);
    expect((await fetch(`${off.origin}/oauth/register`, { method: "POST", body: "{}" })).status).toBe(404);
  });

  test("a 401 names the API key and points at no authorization flow", async () => {
    const { body, headers } = modernRequest("tools/list");
    const response = await fetch(`${off.origin}/mcp`, { method: "POST", headers, body: JSON.stringify(body) });
    expect(response.status).toBe(401);
    const challenge = response.headers.get("www-authenticate")!;
    expect(challenge).not.toContain("resource_metadata");
    expect(challenge).toContain("API key");
    expect(((await response.json()) as any).error.message).toContain("Authorization: Bearer <API key>");
  });

  test("a 403 for a read-only key on a write tool names the scope and points at no authorization flow", async () => {
    const response = await callTool(off.url, readKey, "create_document", { title: "x", content: "y" });
    expect(response.status).toBe(403);
    expect(response.body.error.message).toContain("documents:write");
    const raw = await fetch(off.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25", authorization: `Bearer ${readKey}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "create_document", arguments: { title: "x", content: "y" } } }),
    });
    expect(raw.headers.get("www-authenticate")).not.toContain("resource_metadata");
  });

  test("with OAuth on, the 401 points at the metadata that names this server", async () => {
    const { body, headers } = modernRequest("tools/list");
    const response = await fetch(`${server.origin}/mcp`, { method: "POST", headers, body: JSON.stringify(body) });
    expect(response.headers.get("www-authenticate")).toContain(`resource_metadata="${server.origin}/.well-known/oauth-protected-resource/mcp"`);
    const metadata = (await (await fetch(`${server.origin}/.well-known/oauth-protected-resource/mcp`)).json()) as any;
    expect(metadata.authorization_servers).toEqual([server.origin]);
  });
});

describe("second factor (TOTP)", () => {
  const totp = (secret: string, step: number) => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const bits = [...secret].map((c) => alphabet.indexOf(c).toString(2).padStart(5, "0")).join("");
    const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(step));
    const mac = new Bun.CryptoHasher("sha1", key).update(counter).digest();
    const offset = mac[mac.length - 1]! & 0x0f;
    return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
  };

  test("with TOTP on, the password alone is not enough; a wrong or replayed code is refused; the right code signs in", async () => {
    const added = run(bin, ["member", "add", "acme", "two@acme.example", "--password-stdin"], { cwd: dir, stdin: "two factor password\n" });
    expect(added.code).toBe(0);
    const on = mt("member", "totp", "two@acme.example", "--json");
    expect(on.code).toBe(0);
    const { secret, otpauth_uri } = on.json();
    expect(otpauth_uri).toStartWith("otpauth://totp/");
    const signIn = async (code: string | null) => {
      const browser = new PlainBrowser();
      const page = await browser.get(`${server.origin}/oauth/apps`);
      const step = await browser.post(`${server.origin}/oauth/sign-in`, [...formFields(page.html, "/oauth/sign-in"), ["email", "two@acme.example"], ["password", "two factor password"]]);
      expect(step.status).toBe(200);
      expect(step.html).toContain("Authentication code");
      if (code === null) return step;
      return browser.post(`${server.origin}/oauth/sign-in/code`, [...formFields(step.html, "/oauth/sign-in/code"), ["code", code]]);
    };
    const now = Math.floor(Date.now() / 30_000);
    const valid = new Set([now - 1, now, now + 1].map((step) => totp(secret, step)));
    const wrong = ["123456", "654321", "000000", "999999"].find((code) => !valid.has(code))!;
    expect((await signIn(wrong)).status).toBe(401);
    const good = totp(secret, now);
    const ok = await signIn(good);
    expect(ok.status).toBe(303);
    expect(ok.location).toBe("/oauth/apps");
    expect((await signIn(good)).status).toBe(401);
    // Password only: the browser holds no signed-in session.
    const half = await signIn(null);
    expect(half.html).not.toContain("Connected apps");
    expect(mt("member", "totp", "two@acme.example", "--off").code).toBe(0);
    expect(mt("member", "list", "acme", "--json").json().members.find((m: any) => m.email === "two@acme.example").totp).toBe(false);
  });
});

describe("browser-based clients", () => {
  test("the machine endpoints answer CORS preflights; the pages do not", async () => {
    const origin = "http://localhost:6274";
    for (const path of ["/oauth/token", "/oauth/register", "/.well-known/oauth-authorization-server"]) {
      const preflight = await fetch(`${server.origin}${path}`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    }
    const token = await fetch(`${server.origin}/oauth/token`, { method: "POST", headers: { origin }, body: new URLSearchParams({ grant_type: "refresh_token", client_id: "x", refresh_token: "y" }) });
    expect(token.headers.get("access-control-allow-origin")).toBe("*");
    const page = await fetch(`${server.origin}/oauth/apps`, { headers: { origin } });
    expect(page.headers.get("access-control-allow-origin")).toBeNull();
  });
});
