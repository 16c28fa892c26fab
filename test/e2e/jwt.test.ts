/** JWT bearer tokens against the compiled binary, with a real JWKS served on loopback by the test. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { v2Http } from "../helpers/clients.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

const issuer = "https://idp.example.test";
let dir: string;
let bin: string;
let jwks: Server<undefined>;
let server: ServerProcess;
let signingKey: CryptoKey;
let publicJwk: JWK;
let attackerKey: CryptoKey;
let attackerJwks: Server<undefined>;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });

type Claims = Record<string, unknown>;
const now = () => Math.floor(Date.now() / 1000);

async function token(claims: Claims = {}, options: { key?: CryptoKey; kid?: string; header?: Record<string, unknown>; omit?: string[] } = {}): Promise<string> {
  const base: Claims = { iss: issuer, aud: server.url, sub: "alice", tenant_id: "acme", scope: "documents:read documents:write usage:read", exp: now() + 300, iat: now(), ...claims };
  for (const name of options.omit ?? []) delete base[name];
  return new SignJWT(base).setProtectedHeader({ alg: "RS256", kid: options.kid ?? "k1", ...options.header }).sign(options.key ?? signingKey);
}

function unsigned(claims: Claims): string {
  const enc = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${enc({ alg: "none", typ: "JWT" })}.${enc({ iss: issuer, aud: server.url, tenant_id: "acme", exp: now() + 300, ...claims })}.`;
}

async function hsWithPublicKey(): Promise<string> {
  // The classic confusion: HS256 "signed" with the RSA public key as the HMAC secret.
  const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
  return new SignJWT({ iss: issuer, aud: server.url, tenant_id: "acme", exp: now() + 300 }).setProtectedHeader({ alg: "HS256", kid: "k1" }).sign(secret);
}

function send(bearer: string | null, method = "tools/list", params: Record<string, unknown> = {}, path = "/mcp") {
  const { body, headers } = modernRequest(method, params);
  return fetch(`${server.origin}${path}`, { method: "POST", headers: { ...headers, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) }, body: JSON.stringify(body) });
}

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  const pair = await generateKeyPair("RS256", { extractable: true });
  signingKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  jwks = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ keys: [publicJwk] }) });
  const attacker = await generateKeyPair("RS256", { extractable: true });
  attackerKey = attacker.privateKey;
  const attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: "evil", alg: "RS256" };
  attackerJwks = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ keys: [attackerJwk] }) });
  mt("tenant", "add", "acme");
  mt("tenant", "add", "sleepy");
  mt("tenant", "suspend", "sleepy");
  writeFileSync(join(dir, "jwt.toml"), `[auth.jwt]\njwks_url = "http://127.0.0.1:${jwks.port}/jwks.json"\nissuer = "${issuer}"\n`);
  server = await startServe(bin, dir, ["--config", "jwt.toml"]);
});
afterAll(async () => {
  await server?.stop();
  jwks?.stop(true);
  attackerJwks?.stop(true);
  cleanupTempDirs();
});

describe("JWT (JWKS on loopback)", () => {
  const metadata = () => `resource_metadata="${server.origin}/.well-known/oauth-protected-resource/mcp"`;

  test("protected resource metadata lists the authorization server and scopes", async () => {
    for (const path of ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]) {
      const body = (await (await fetch(`${server.origin}${path}`)).json()) as any;
      expect(body).toMatchObject({ resource: server.url, authorization_servers: [issuer], scopes_supported: ["documents:read", "documents:write", "usage:read"], bearer_methods_supported: ["header"] });
    }
  });

  test("no credential: 401 without error=, pointing at the metadata", async () => {
    const response = await send(null);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(`Bearer ${metadata()}, scope="documents:read documents:write usage:read"`);
  });

  const cases: [string, () => Promise<string>, number, string][] = [
    ["valid token", () => token(), 200, ""],
    ["expired within the 30 s tolerance", () => token({ exp: now() - 10 }), 200, ""],
    ["wrong aud", () => token({ aud: "https://other.example/mcp" }), 401, "invalid token: aud claim check failed"],
    ["missing aud", () => token({}, { omit: ["aud"] }), 401, "invalid token: aud claim missing"],
    ["wrong iss", () => token({ iss: "https://evil.example" }), 401, "invalid token: iss claim check failed"],
    ["expired beyond tolerance", () => token({ exp: now() - 120 }), 401, "invalid token: expired"],
    ["future nbf", () => token({ nbf: now() + 600 }), 401, "invalid token: nbf claim check failed"],
    ["missing exp", () => token({}, { omit: ["exp"] }), 401, "invalid token: exp claim missing"],
    ["alg none", async () => unsigned({}), 401, "invalid token: algorithm not allowed"],
    ["HS256 signed with the RSA public key", hsWithPublicKey, 401, "invalid token: algorithm not allowed"],
    ["unknown kid", () => token({}, { kid: "k-unknown" }), 401, "invalid token: no matching key"],
    ["jku pointing at the attacker's key set", () => token({}, { key: attackerKey, kid: "evil", header: { jku: `http://127.0.0.1:${attackerJwks.port}/jwks.json` } }), 401, "invalid token: no matching key"],
    ["signed by another key with our kid", () => token({}, { key: attackerKey }), 401, "invalid token: signature verification failed"],
    ["unknown tenant", () => token({ tenant_id: "ghost" }), 401, "invalid token: its tenant does not exist"],
    ["no tenant claim", () => token({}, { omit: ["tenant_id"] }), 401, "invalid token: no tenant_id claim"],
    ["suspended tenant", () => token({ tenant_id: "sleepy" }), 403, "tenant sleepy is suspended; contact the server's operator"],
  ];

  test.each(cases)("%s → %d", async (_name, make, status, message) => {
    const response = await send(await make());
    expect(response.status).toBe(status);
    const body = (await response.json()) as any;
    if (status === 200) {
      expect(body.result.tools.length).toBe(7);
      return;
    }
    expect(body.error.message).toBe(status === 401 ? `Unauthorized: ${message}` : message);
    if (status === 401) {
      expect(response.headers.get("www-authenticate")).toBe(`Bearer error="invalid_token", error_description="${message}", ${metadata()}, scope="documents:read documents:write usage:read"`);
    }
  });

  test("a token in the query string is refused", async () => {
    const response = await send(null, "tools/list", {}, `/mcp?access_token=${await token()}`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as any).error.message).toContain("credentials in the query string are refused");
    expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  test("scopes: a read-only token sees read tools only and gets 403 insufficient_scope for writes", async () => {
    const readOnly = await token({ scope: "documents:read" });
    const list = (await (await send(readOnly)).json()) as any;
    expect(list.result.tools.map((t: { name: string }) => t.name).sort()).toEqual(["get_document", "list_documents", "search_documents"]);
    const write = await send(readOnly, "tools/call", { name: "create_document", arguments: { title: "x", content: "y" } });
    expect(write.status).toBe(403);
    expect(write.headers.get("www-authenticate")).toBe(`Bearer error="insufficient_scope", scope="documents:write", ${metadata()}, error_description="this credential lacks the documents:write scope"`);
    expect(((await write.json()) as any).error.message).toBe("Forbidden: the tool create_document needs the documents:write scope, which this credential does not have");
    const usage = await send(readOnly, "tools/call", { name: "get_usage_report", arguments: {} });
    expect(usage.status).toBe(403);
    // scp arrays are read too
    const arrayScopes = await token({ scope: undefined, scp: ["documents:read", "documents:write"] });
    expect((await send(arrayScopes, "tools/call", { name: "create_document", arguments: { title: "x", content: "y" } })).status).toBe(200);
  });

  test("a JWT principal works like an API key with the official client", async () => {
    const client = await v2Http(server.url, await token({ sub: "bob" }), "modern");
    const created = await client.callTool("create_document", { title: "from a JWT", content: "hello" });
    expect(created.structuredContent.version).toBe(1);
    expect((await client.callTool("get_document", { id: created.structuredContent.id })).structuredContent.title).toBe("from a JWT");
    await client.close();
  });
});

describe("JWT (shared secret) and token issue", () => {
  test("token issue prints a token that the server accepts, with the asked scopes", async () => {
    const secret = "s".repeat(40);
    // A second data directory: the JWKS server above owns the first one.
    writeFileSync(join(dir, "hs.toml"), `[data]\ndir = "hs-data"\n[auth.jwt]\nissuer = "mcp-mt-test"\n`);
    expect(run(bin, ["tenant", "add", "acme", "--config", "hs.toml"], { cwd: dir }).code).toBe(0);
    const hs = await startServe(bin, dir, ["--config", "hs.toml"], { MCP_MT_AUTH_JWT_SECRET: secret });
    try {
      const issued = run(bin, ["token", "issue", "acme", "--scopes", "documents:read", "--ttl", "10m", "--subject", "ci", "--config", "hs.toml"], {
        cwd: dir,
        env: { MCP_MT_AUTH_JWT_SECRET: secret, MCP_MT_SERVER_PORT: String(hs.port) },
      });
      expect(issued.code).toBe(0);
      const jwt = issued.stdout.trim();
      expect(jwt.split(".")).toHaveLength(3);
      const claims = JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString());
      expect(claims).toMatchObject({ iss: "mcp-mt-test", aud: hs.url, sub: "ci", tenant_id: "acme", scope: "documents:read" });
      expect(claims.exp - claims.iat).toBe(600);
      const { body, headers } = modernRequest("tools/list");
      const ok = await fetch(hs.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${jwt}` }, body: JSON.stringify(body) });
      expect(ok.status).toBe(200);
      expect((((await ok.json()) as any).result.tools as unknown[]).length).toBe(3);
      expect(run(bin, ["token", "issue", "acme", "--config", "hs.toml"], { cwd: dir }).stderr).toContain("token issue needs [auth.jwt] with a shared secret");
    } finally {
      await hs.stop();
    }
  });

  test("a secret in the TOML file is refused", () => {
    writeFileSync(join(dir, "leak.toml"), `[auth.jwt]\nsecret = "${"x".repeat(40)}"\nissuer = "i"\n`);
    const result = run(bin, ["config", "check", "--config", "leak.toml"], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("leak.toml:2:1: auth.jwt.secret: secrets are not read from the config file; set MCP_MT_AUTH_JWT_SECRET or auth.jwt.secret_file");
  });
});
