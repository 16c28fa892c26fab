/**
 * `mcp-remote`, the bridge desktop apps use for remote servers, as the stand-in for an OAuth-only desktop app:
 * an MCP client talks stdio to mcp-remote, which discovers our authorization server, registers (DCR), sends the
 * user to the sign-in page (driven here over plain HTTP), receives the code on its loopback callback, and then
 * relays every tool call. Also: it refreshes an expired access token, and is refused after revocation.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { authorizationUrl, nodeBinary, startBridge } from "../helpers/mcp-remote.ts";
import { startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let server: ServerProcess;
let password: string;
const configDir = tempDir("mcp-remote-auth-");
const mt = (...args: string[]) => run(bin, args, { cwd: dir });

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  mt("tenant", "add", "desk");
  password = mt("member", "add", "desk", "dana@desk.example", "--json").json().password;
  // Access tokens of 2 s, so that a restarted bridge must refresh.
  writeFileSync(join(dir, "mcp-mt.toml"), `[auth.oauth]\naccess_token_ttl = "2s"\n`);
  server = await startServe(bin, dir);
});
afterAll(async () => {
  await server?.stop();
  cleanupTempDirs();
});

describe.skipIf(!nodeBinary)("mcp-remote (desktop app stand-in)", () => {
  test("registers, signs in through the page, and uses every tool", async () => {
    const bridge = await startBridge(server.url, 34561, configDir, { email: "dana@desk.example", password });
    const tools = (await bridge.client.listTools()).tools.map((t) => t.name).sort();
    expect(tools).toEqual(["create_document", "delete_document", "get_document", "get_usage_report", "list_documents", "search_documents", "update_document"]);
    const created = (await bridge.client.callTool({ name: "create_document", arguments: { title: "From the desktop", content: "through mcp-remote", tags: ["bridge"] } })) as any;
    expect(created.isError).toBeFalsy();
    const id = created.structuredContent.id;
    expect(((await bridge.client.callTool({ name: "get_document", arguments: { id } })) as any).structuredContent.title).toBe("From the desktop");
    expect(((await bridge.client.callTool({ name: "update_document", arguments: { id, content: "edited", expected_version: 1 } })) as any).isError).toBeFalsy();
    expect(JSON.stringify((await bridge.client.callTool({ name: "search_documents", arguments: { query: "edited" } })).structuredContent)).toContain(id);
    expect(((await bridge.client.callTool({ name: "list_documents", arguments: {} })) as any).isError).toBeFalsy();
    expect(((await bridge.client.callTool({ name: "get_usage_report", arguments: {} })) as any).isError).toBeFalsy();
    expect(((await bridge.client.callTool({ name: "delete_document", arguments: { id } })) as any).isError).toBeFalsy();
    await bridge.close();
    const grants = mt("oauth", "grants", "desk", "--json").json().grants;
    expect(grants).toHaveLength(1);
    expect(grants[0].client_id).toStartWith("c_");
  });

  test("restarted after its access token expired, it refreshes (no sign-in) and keeps working", async () => {
    const before = mt("oauth", "grants", "desk", "--json").json().grants[0].last_used_at;
    await Bun.sleep(8_000);
    const bridge = await startBridge(server.url, 34561, configDir, null);
    await bridge.connected;
    expect(((await bridge.client.callTool({ name: "list_documents", arguments: {} })) as any).isError).toBeFalsy();
    expect(bridge.stderr()).not.toContain("Please authorize");
    await bridge.close();
    expect(mt("oauth", "grants", "desk", "--json").json().grants[0].last_used_at).not.toBe(before);
  });

  test("after the grant is revoked it is refused and asks the user to sign in again", async () => {
    const grant = mt("oauth", "grants", "desk", "--json").json().grants[0].id;
    expect(mt("oauth", "revoke", grant).code).toBe(0);
    await Bun.sleep(1_100);
    const bridge = await startBridge(server.url, 34562, configDir, null);
    bridge.connected.catch(() => undefined);
    expect(await authorizationUrl(bridge.stderr)).toContain("/oauth/authorize");
    await bridge.close().catch(() => undefined);
  });
});
