/** Attacks on the built-in authorization server, each with the refusal it must meet (table-driven where rows share a shape). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { formFields, PlainBrowser } from "../helpers/oauth-browser.ts";
import { authorizeUrl, callTool, codeFor, exchange, pkcePair, registerClient, tokenRequest } from "../helpers/oauth-protocol.ts";
import { startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let server: ServerProcess;
let origin: string;
const passwords: Record<string, string> = {};
const redirect = "http://127.0.0.1:40111/cb";
let clientId: string;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });
const alice = () => ({ email: "alice@a.example", password: passwords.alice! });

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  for (const t of ["tenant-a", "tenant-b"]) expect(mt("tenant", "add", t).code).toBe(0);
  for (const [name, tenant] of [["alice", "tenant-a"], ["bob", "tenant-a"], ["carol", "tenant-a"], ["bert", "tenant-b"]] as const) {
    passwords[name] = mt("member", "add", tenant, `${name}@${tenant === "tenant-a" ? "a" : "b"}.example`, "--json").json().password;
  }
  server = await startServe(bin, dir);
  origin = server.origin;
  clientId = await registerClient(origin, [redirect]);
});
afterAll(async () => {
  await server?.stop();
  cleanupTempDirs();
});

describe("authorization code and PKCE", () => {
  test("a code used twice is refused, and the tokens issued for it are revoked", async () => {
    const { code, pkce } = await codeFor(origin, clientId, redirect, alice());
    const first = await exchange(origin, clientId, redirect, code, pkce.verifier);
    expect(first.status).toBe(200);
    expect((await callTool(server.url, first.body.access_token, "list_documents")).status).toBe(200);
    const second = await exchange(origin, clientId, redirect, code, pkce.verifier);
    expect(second).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    await Bun.sleep(1_100);
    expect((await callTool(server.url, first.body.access_token, "list_documents")).status).toBe(401);
  });

  const exchangeRows: [string, (code: string, verifier: string) => Record<string, string>, string][] = [
    ["PKCE verifier that does not match", () => ({ code_verifier: pkcePair().verifier }), "invalid_grant"],
    ["PKCE verifier missing", () => ({ code_verifier: "" }), "invalid_request"],
    ["another redirect_uri at the token endpoint", () => ({ redirect_uri: "http://127.0.0.1:40111/other" }), "invalid_grant"],
    ["another client_id", () => ({ client_id: "c_someoneelse0000000" }), "invalid_grant"],
    ["a token for another resource", () => ({ resource: "https://other.example/mcp" }), "invalid_target"],
  ];
  test.each(exchangeRows)("exchange with %s is refused", async (_name, change, error) => {
    const { code, pkce } = await codeFor(origin, clientId, redirect, alice());
    const fields = { grant_type: "authorization_code", client_id: clientId, redirect_uri: redirect, code, code_verifier: pkce.verifier, ...change(code, pkce.verifier) };
    const result = await tokenRequest(origin, fields);
    expect(result.status).toBe(400);
    expect(result.body.error).toBe(error);
  });

  const authorizeRows: [string, Record<string, string>, string][] = [
    ["the plain PKCE method", { code_challenge_method: "plain" }, "invalid_request"],
    ["no PKCE challenge", { code_challenge: "" }, "invalid_request"],
    ["a token for another resource", { resource: "https://other.example/mcp" }, "invalid_target"],
    ["an unknown scope", { scope: "admin:all" }, "invalid_scope"],
    ["response_type token (implicit flow)", { response_type: "token" }, "unsupported_response_type"],
  ];
  test.each(authorizeRows)("authorize with %s goes back to the app with an error and no code", async (_name, params, error) => {
    const page = await new PlainBrowser().get(authorizeUrl(origin, { client_id: clientId, redirect_uri: redirect, code_challenge: pkcePair().challenge, ...params }));
    expect(page.status).toBe(303);
    const back = new URL(page.location!);
    expect(back.origin + back.pathname).toBe(redirect);
    expect(back.searchParams.get("error")).toBe(error);
    expect(back.searchParams.get("code")).toBeNull();
    expect(back.searchParams.get("state")).toBe("st-1");
  });
});

describe("redirect URIs", () => {
  const rows: [string, string, string][] = [
    ["another path", "http://127.0.0.1:40111/evil", "Redirect address mismatch"],
    ["an open redirect to another site", "https://evil.example/cb", "Redirect address mismatch"],
    ["a prefix trick", "http://127.0.0.1:40111/cb/../evil", "Redirect address mismatch"],
    ["a query added", "http://127.0.0.1:40111/cb?next=https://evil.example", "Redirect address mismatch"],
    ["loopback under another name", "http://localhost:40111/cb", "Redirect address mismatch"],
  ];
  test.each(rows)("%s: an error page, never a redirect", async (_name, uri, title) => {
    const page = await new PlainBrowser().get(authorizeUrl(origin, { client_id: clientId, redirect_uri: uri, code_challenge: pkcePair().challenge }));
    expect(page.status).toBe(400);
    expect(page.location).toBeNull();
    expect(page.html).toContain(title);
  });

  test("a loopback redirect on another port matches (RFC 8252)", async () => {
    const { code, pkce } = await codeFor(origin, clientId, "http://127.0.0.1:51234/cb", alice());
    expect((await exchange(origin, clientId, "http://127.0.0.1:51234/cb", code, pkce.verifier)).status).toBe(200);
  });

  test("an unknown client gets an error page", async () => {
    const page = await new PlainBrowser().get(authorizeUrl(origin, { client_id: "c_unknown", redirect_uri: "https://evil.example/cb", code_challenge: pkcePair().challenge }));
    expect(page.status).toBe(400);
    expect(page.location).toBeNull();
    expect(page.html).toContain("Unknown app");
  });

  const registrationRows: [string, string[]][] = [
    ["http to a public host", ["http://evil.example/cb"]],
    ["a javascript: URI", ["javascript:alert(1)"]],
    ["a fragment", ["https://app.example/cb#x"]],
    ["no redirect at all", []],
  ];
  test.each(registrationRows)("registration with %s is refused", async (_name, uris) => {
    const response = await fetch(`${origin}/oauth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ client_name: "x", redirect_uris: uris }) });
    expect(response.status).toBe(400);
    expect(["invalid_redirect_uri", "invalid_client_metadata"]).toContain(((await response.json()) as any).error);
  });
});

describe("oversized bodies", () => {
  const big = "x".repeat(1024 * 1024);
  const rows: [string, string, string][] = [
    ["registration", "/oauth/register", JSON.stringify({ redirect_uris: [redirect], client_name: big })],
    ["token", "/oauth/token", `grant_type=refresh_token&client_id=x&refresh_token=${big}`],
    ["sign-in form", "/oauth/sign-in", `csrf=x&email=a&password=${big}`],
  ];
  test.each(rows)("a 1 MiB %s body is refused with 413 before it is buffered", async (_name, path, body) => {
    const response = await fetch(`${origin}${path}`, { method: "POST", headers: { "content-type": path === "/oauth/register" ? "application/json" : "application/x-www-form-urlencoded" }, body });
    expect(response.status).toBe(413);
  });
});

describe("refresh tokens", () => {
  test("a refresh token reused after rotation revokes the whole grant", async () => {
    const { code, pkce } = await codeFor(origin, clientId, redirect, alice());
    const tokens = (await exchange(origin, clientId, redirect, code, pkce.verifier)).body;
    const rotated = await tokenRequest(origin, { grant_type: "refresh_token", client_id: clientId, refresh_token: tokens.refresh_token });
    expect(rotated.status).toBe(200);
    const replay = await tokenRequest(origin, { grant_type: "refresh_token", client_id: clientId, refresh_token: tokens.refresh_token });
    expect(replay).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    // The legitimate holder's newer token is dead too: the grant is gone.
    const newer = await tokenRequest(origin, { grant_type: "refresh_token", client_id: clientId, refresh_token: rotated.body.refresh_token });
    expect(newer).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    await Bun.sleep(1_100);
    expect((await callTool(server.url, rotated.body.access_token, "list_documents")).status).toBe(401);
  });

  test("a refresh token presented by another client is refused", async () => {
    const { code, pkce } = await codeFor(origin, clientId, redirect, alice());
    const tokens = (await exchange(origin, clientId, redirect, code, pkce.verifier)).body;
    const other = await registerClient(origin, [redirect]);
    expect(await tokenRequest(origin, { grant_type: "refresh_token", client_id: other, refresh_token: tokens.refresh_token })).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  test("RFC 7009 revocation of the refresh token ends the access token too", async () => {
    const { code, pkce } = await codeFor(origin, clientId, redirect, alice());
    const tokens = (await exchange(origin, clientId, redirect, code, pkce.verifier)).body;
    const revoked = await fetch(`${origin}/oauth/revoke`, { method: "POST", body: new URLSearchParams({ token: tokens.refresh_token, client_id: clientId }) });
    expect(revoked.status).toBe(200);
    await Bun.sleep(1_100);
    expect((await callTool(server.url, tokens.access_token, "list_documents")).status).toBe(401);
  });
});

describe("CSRF on the forms", () => {
  async function consentPage() {
    const browser = new PlainBrowser();
    let page = await browser.get(authorizeUrl(origin, { client_id: clientId, redirect_uri: redirect, code_challenge: pkcePair().challenge }));
    const fields = formFields(page.html, "/oauth/sign-in");
    page = await browser.follow(await browser.post(`${origin}/oauth/sign-in`, [...fields, ["email", alice().email], ["password", alice().password]]), origin);
    return { browser, fields: formFields(page.html, "/oauth/consent") };
  }

  const rows: [string, (fields: [string, string][]) => [string, string][], boolean][] = [
    ["no CSRF token", (f) => f.filter(([k]) => k !== "csrf"), true],
    ["a wrong CSRF token", (f) => f.map(([k, v]) => [k, k === "csrf" ? "A".repeat(43) : v]), true],
    ["the victim's form posted from a browser without the victim's cookie", (f) => f, false],
  ];
  test.each(rows)("consent with %s is refused with 403 and no code", async (_name, change, withCookie) => {
    const { browser, fields } = await consentPage();
    const poster = withCookie ? browser : new PlainBrowser();
    const result = await poster.post(`${origin}/oauth/consent`, [...change(fields), ["decision", "allow"]]);
    expect(result.status).toBe(403);
    expect(result.location).toBeNull();
  });

  test("the pages send a strict CSP, and the session cookie is HttpOnly and SameSite", async () => {
    const response = await fetch(authorizeUrl(origin, { client_id: clientId, redirect_uri: redirect, code_challenge: pkcePair().challenge }), { redirect: "manual" });
    const csp = response.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    const cookie = response.headers.getSetCookie().join(";");
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(await response.text()).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1)/);
  });
});

describe("password guessing across accounts", () => {
  test("wrong passwords lock the one account; the right one is then refused; other accounts sign in", async () => {
    const attempt = async (email: string, password: string) => {
      const browser = new PlainBrowser();
      const page = await browser.get(`${origin}/oauth/apps`);
      return browser.post(`${origin}/oauth/sign-in`, [...formFields(page.html, "/oauth/sign-in"), ["email", email], ["password", password]]);
    };
    for (let i = 0; i < 5; i++) expect((await attempt("bob@a.example", `wrong-password-${i}`)).status).toBe(401);
    const locked = await attempt("bob@a.example", passwords.bob!);
    expect(locked.status).toBe(423);
    expect(locked.html).toContain("locked");
    expect((await attempt("carol@a.example", passwords.carol!)).status).toBe(303);
    // A guess at an unknown account says the same thing as a wrong password.
    const unknown = await attempt("nobody@a.example", "whatever-password");
    expect(unknown.status).toBe(401);
    expect(unknown.html).toContain("Wrong email or password.");
    // The operator unlocks the account by resetting its password (a new password starts a fresh count).
    expect(run(bin, ["member", "reset", "bob@a.example", "--password-stdin"], { cwd: dir, stdin: "bob's new password\n" }).code).toBe(0);
    expect((await attempt("bob@a.example", "bob's new password")).status).toBe(303);
  });
});

describe("tenant isolation", () => {
  test("a token of tenant A never reaches tenant B, and a token whose tenant claim is edited is refused", async () => {
    const { code, pkce } = await codeFor(origin, clientId, redirect, { email: "bert@b.example", password: passwords.bert! });
    const b = (await exchange(origin, clientId, redirect, code, pkce.verifier)).body;
    expect((await callTool(server.url, b.access_token, "create_document", { title: "B secret", content: "only for tenant b" })).status).toBe(200);
    const a = await codeFor(origin, clientId, redirect, alice());
    const tokenA = (await exchange(origin, clientId, redirect, a.code, a.pkce.verifier)).body.access_token as string;
    const search = await callTool(server.url, tokenA, "search_documents", { query: "secret" });
    expect(JSON.stringify(search.body)).not.toContain("B secret");
    const [header, payload, signature] = tokenA.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, tenant_id: "tenant-b" })).toString("base64url")}.${signature}`;
    const refused = await callTool(server.url, forged, "search_documents", { query: "secret" });
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toContain("signature");
  });
});

describe("client metadata documents and registration flooding (a second server allowing private CIMD hosts)", () => {
  let dir2: string;
  let bin2: string;
  let server2: ServerProcess;
  let docs: Server<undefined>;
  beforeAll(async () => {
    ({ dir: dir2, bin: bin2 } = binaryInEmptyDir());
    run(bin2, ["tenant", "add", "acme"], { cwd: dir2 });
    writeFileSync(join(dir2, "mcp-mt.toml"), `[auth.oauth]\ncimd_allow_private = true\ncimd_timeout_ms = 500\ndcr_per_hour = 3\n`);
    docs = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(request) {
        const path = new URL(request.url).pathname;
        const self = request.url;
        if (path === "/huge.json") return new Response(JSON.stringify({ client_id: self, redirect_uris: [redirect], client_name: "x".repeat(100_000) }), { headers: { "content-type": "application/json" } });
        if (path === "/slow.json") {
          await Bun.sleep(3_000);
          return Response.json({ client_id: self, redirect_uris: [redirect] });
        }
        if (path === "/good.json") return Response.json({ client_id: self, redirect_uris: [redirect], client_name: "Metadata App" });
        return new Response("no", { status: 404 });
      },
    });
    server2 = await startServe(bin2, dir2);
  });
  afterAll(async () => {
    await server2?.stop();
    docs?.stop(true);
  });

  test("a URL client id pointing at a private address is refused on a default server", async () => {
    for (const id of ["https://127.0.0.1/client.json", "https://localhost/client.json", "https://10.1.2.3/client.json", "https://[::1]/client.json"]) {
      const page = await new PlainBrowser().get(authorizeUrl(origin, { client_id: id, redirect_uri: redirect, code_challenge: pkcePair().challenge }));
      expect(page.status).toBe(400);
      expect(page.location).toBeNull();
      expect(page.html).toContain("private or loopback");
    }
  });

  const rows: [string, string, string][] = [
    ["a huge document", "/huge.json", "larger than"],
    ["a slow document", "/slow.json", "no answer within"],
    ["a missing document", "/missing.json", "HTTP 404"],
  ];
  test.each(rows)("%s is refused with an error page", async (_name, path, message) => {
    const page = await new PlainBrowser().get(authorizeUrl(server2.origin, { client_id: `http://127.0.0.1:${docs.port}${path}`, redirect_uri: redirect, code_challenge: pkcePair().challenge }));
    expect(page.status).toBe(400);
    expect(page.html).toContain(message);
  });

  test("a good metadata document is accepted: its name and host are shown on the sign-in page", async () => {
    const page = await new PlainBrowser().get(authorizeUrl(server2.origin, { client_id: `http://127.0.0.1:${docs.port}/good.json`, redirect_uri: redirect, code_challenge: pkcePair().challenge }));
    expect(page.status).toBe(200);
    expect(page.html).toContain("Metadata App wants to connect");
  });

  test("registration flooding from one address gets 429 after dcr_per_hour", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${server2.origin}/oauth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ redirect_uris: [redirect] }) });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([201, 201, 201, 429, 429]);
  });
});
