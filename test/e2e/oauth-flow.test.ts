/**
 * The built-in authorization server with a real OAuth client: the SDK v2 client's OAuth provider registers (DCR),
 * the user signs in and consents (browser step over plain HTTP), the client calls tools, refreshes, and is refused
 * after revocation. Also: sign-in with an API key, narrowing on the consent page, the operator's commands.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { UnauthorizedError as V1UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as V1Transport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { authorizeInBrowser, PlainBrowser } from "../helpers/oauth-browser.ts";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import type { SignIn } from "../helpers/oauth-browser.ts";
import { connectSdkWithOAuth } from "../helpers/oauth-sdk.ts";
import { MemoryOAuthProvider } from "../helpers/oauth-provider.ts";
import { startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let server: ServerProcess;
let alicePassword: string;
let readerKey: string;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  expect(mt("tenant", "add", "acme").code).toBe(0);
  const added = mt("member", "add", "acme", "alice@acme.example", "--json");
  expect(added.code).toBe(0);
  alicePassword = added.json().password;
  readerKey = mt("key", "create", "acme", "--scopes", "documents:read", "--json").json().api_key;
  server = await startServe(bin, dir);
});
afterAll(async () => {
  await server?.stop();
  cleanupTempDirs();
});

const connectWithOAuth = (provider: MemoryOAuthProvider, who: SignIn, options: { scopes?: string[]; era?: "modern" | "legacy" } = {}) => connectSdkWithOAuth(server.url, provider, who, options);

const rawCall = (token: string, name: string, args: Record<string, unknown>) =>
  fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25", authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: args } }),
  });

describe("SDK v2 client, DCR, member password", () => {
  const provider = new MemoryOAuthProvider("http://127.0.0.1:33418/callback", "Desk App");

  test("discovers, registers, signs in, consents and uses every kind of tool", async () => {
    const { client, callback } = await connectWithOAuth(provider, { email: "alice@acme.example", password: alicePassword });
    expect(callback.searchParams.get("iss")).toBe(server.origin);
    expect(provider.client.client_id).toStartWith("c_");
    expect(provider.savedTokens.refresh_token).toStartWith("mcpmt_rt_");
    const tools = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(tools).toEqual(["create_document", "delete_document", "get_document", "get_usage_report", "list_documents", "search_documents", "update_document"]);
    const created = await client.callTool({ name: "create_document", arguments: { title: "OAuth note", content: "signed in through the page" } });
    expect(created.isError).toBeFalsy();
    const found = await client.callTool({ name: "search_documents", arguments: { query: "page" } });
    expect(JSON.stringify(found.structuredContent)).toContain("OAuth note");
    const usage = await client.callTool({ name: "get_usage_report", arguments: {} });
    expect(usage.isError).toBeFalsy();
    await client.close();
  });

  test("the grant is listed for the tenant with its client and subject", () => {
    const grants = mt("oauth", "grants", "acme", "--json").json().grants;
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ client_name: "Desk App", state: "active", scopes: ["documents:read", "documents:write", "usage:read"] });
    expect(grants[0].subject).toStartWith("member:");
  });

  test("refresh rotates the refresh token and the new access token works", async () => {
    const before = provider.savedTokens;
    const response = await fetch(`${server.origin}/oauth/token`, { method: "POST", body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: before.refresh_token, client_id: provider.client.client_id }) });
    expect(response.status).toBe(200);
    const after = (await response.json()) as any;
    expect(after.refresh_token).not.toBe(before.refresh_token);
    expect(after.access_token).not.toBe(before.access_token);
    provider.saveTokens(after);
    const client = new Client({ name: "oauth-e2e", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { authProvider: provider }));
    expect((await client.callTool({ name: "list_documents", arguments: {} })).isError).toBeFalsy();
    await client.close();
  });

  test("after `oauth revoke` the access token and the refresh token are refused", async () => {
    const grant = mt("oauth", "grants", "acme", "--json").json().grants[0].id;
    expect(mt("oauth", "revoke", grant).code).toBe(0);
    await Bun.sleep(1_100);
    const call = await rawCall(provider.savedTokens.access_token, "list_documents", {});
    expect(call.status).toBe(401);
    expect(((await call.json()) as any).error.message).toContain("revoked");
    const refresh = await fetch(`${server.origin}/oauth/token`, { method: "POST", body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: provider.savedTokens.refresh_token, client_id: provider.client.client_id }) });
    expect(refresh.status).toBe(400);
    expect(((await refresh.json()) as any).error).toBe("invalid_grant");
    expect(mt("oauth", "grants", "acme", "--json").json().grants[0].state).toBe("revoked");
  });
});

describe("both protocol eras", () => {
  test.each(["modern", "legacy"] as const)("the SDK v2 client pinned to the %s era completes the flow and calls a tool", async (era) => {
    const provider = new MemoryOAuthProvider(`http://127.0.0.1:3343${era === "modern" ? 1 : 2}/callback`, `Era ${era}`);
    const { client } = await connectWithOAuth(provider, { email: "alice@acme.example", password: alicePassword }, { era });
    expect(client.getNegotiatedProtocolVersion()).toBe(era === "modern" ? "2026-07-28" : "2025-11-25");
    expect((await client.callTool({ name: "list_documents", arguments: {} })).isError).toBeFalsy();
    await client.close();
  });
});

describe("the v1 SDK client (the most deployed one) with its OAuth provider", () => {
  test("registers, signs in, consents, calls a tool", async () => {
    const provider = new MemoryOAuthProvider("http://127.0.0.1:33433/callback", "V1 App");
    const transport = new V1Transport(new URL(server.url), { authProvider: provider as never });
    const refused = await new V1Client({ name: "v1-oauth", version: "1.0.0" }).connect(transport).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(V1UnauthorizedError);
    const callback = await authorizeInBrowser(new PlainBrowser(), provider.authorizationUrl!.toString(), { email: "alice@acme.example", password: alicePassword });
    await transport.finishAuth(callback.searchParams.get("code")!);
    const client = new V1Client({ name: "v1-oauth", version: "1.0.0" });
    await client.connect(new V1Transport(new URL(server.url), { authProvider: provider as never }));
    expect((await client.callTool({ name: "list_documents", arguments: {} })).isError).toBeFalsy();
    expect(provider.client.client_id).toStartWith("c_");
    await client.close();
  });
});

describe("sign-in with a tenant API key, and narrowing on the consent page", () => {
  test("a read-only key yields a grant no wider than the key", async () => {
    const provider = new MemoryOAuthProvider("http://127.0.0.1:33419/callback", "Key App");
    const { client } = await connectWithOAuth(provider, { apiKey: readerKey });
    expect(provider.savedTokens.scope).toBe("documents:read");
    expect((await client.callTool({ name: "list_documents", arguments: {} })).isError).toBeFalsy();
    const write = await rawCall(provider.savedTokens.access_token, "create_document", { title: "x", content: "y" });
    expect(write.status).toBe(403);
    await client.close();
  });

  test("unticking a scope on the consent page narrows the grant", async () => {
    const provider = new MemoryOAuthProvider("http://127.0.0.1:33420/callback", "Narrow App");
    const { client } = await connectWithOAuth(provider, { email: "alice@acme.example", password: alicePassword }, { scopes: ["documents:read"] });
    expect(provider.savedTokens.scope).toBe("documents:read");
    const write = await rawCall(provider.savedTokens.access_token, "create_document", { title: "x", content: "y" });
    expect(write.status).toBe(403);
    await client.close();
  });
});

describe("what the operator's actions do to live grants", () => {
  test("suspending the tenant and removing the member each end access within a second", async () => {
    const provider = new MemoryOAuthProvider("http://127.0.0.1:33421/callback", "Ops App");
    const { client } = await connectWithOAuth(provider, { email: "alice@acme.example", password: alicePassword });
    await client.close();
    const token = provider.savedTokens.access_token;
    expect((await rawCall(token, "list_documents", {})).status).toBe(200);
    expect(mt("tenant", "suspend", "acme").code).toBe(0);
    await Bun.sleep(1_100);
    expect((await rawCall(token, "list_documents", {})).status).toBe(403);
    expect(mt("tenant", "resume", "acme").code).toBe(0);
    await Bun.sleep(1_100);
    expect((await rawCall(token, "list_documents", {})).status).toBe(200);
    expect(mt("member", "remove", "alice@acme.example").code).toBe(0);
    await Bun.sleep(1_100);
    const gone = await rawCall(token, "list_documents", {});
    expect(gone.status).toBe(401);
    expect(((await gone.json()) as any).error.message).toContain("revoked");
  });
});
