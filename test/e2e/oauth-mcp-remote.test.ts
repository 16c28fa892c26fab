/**
 * `mcp-remote`, the bridge desktop apps use for remote servers, as the stand-in for an OAuth-only desktop app:
 * an MCP client talks stdio to mcp-remote, which discovers our authorization server, registers (DCR), sends the
 * user to the sign-in page (driven here over plain HTTP), receives the code on its loopback callback, and then
 * relays every tool call. Also: it refreshes an expired access token, and is refused after revocation.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, root, run } from "../helpers/binary.ts";
import { authorizeInBrowser, PlainBrowser } from "../helpers/oauth-browser.ts";
import { startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let server: ServerProcess;
let password: string;
const configDir = tempDir("mcp-remote-auth-");
const mt = (...args: string[]) => run(bin, args, { cwd: dir });
const node = Bun.which("node");

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

type Bridge = { client: Client; stderr: () => string; close(): Promise<void> };

/** Starts mcp-remote under an MCP client, as a desktop app's config would; `signIn` completes the browser step if asked. */
async function startBridge(callbackPort: number, signIn: boolean): Promise<Bridge> {
  let err = "";
  const transport = new StdioClientTransport({
    command: node!,
    args: [join(root, "node_modules/mcp-remote/dist/proxy.js"), server.url, String(callbackPort)],
    // No browser may open: PATH holds nothing, BROWSER fails; the test is the user's browser.
    env: { PATH: "/nonexistent", HOME: configDir, MCP_REMOTE_CONFIG_DIR: configDir, BROWSER: "/bin/false" },
    stderr: "pipe",
  });
  transport.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const client = new Client({ name: "desktop-app-stand-in", version: "1.0.0" });
  const connected = client.connect(transport);
  if (signIn) {
    const deadline = Date.now() + 20_000;
    let url: string | undefined;
    while (!(url = /Please authorize this client by visiting:\s+(\S+)/.exec(err)?.[1])) {
      if (Date.now() > deadline) throw new Error(`mcp-remote never asked for sign-in:\n${err}`);
      await Bun.sleep(100);
    }
    const callback = await authorizeInBrowser(new PlainBrowser(), url, { email: "dana@desk.example", password });
    expect(callback.port).toBe(String(callbackPort));
    // The browser lands on mcp-remote's loopback callback, which takes the code.
    expect((await fetch(callback)).status).toBe(200);
  }
  await connected;
  return { client, stderr: () => err, close: () => client.close() };
}

describe.skipIf(!node)("mcp-remote (desktop app stand-in)", () => {
  test("registers, signs in through the page, and uses every tool", async () => {
    const bridge = await startBridge(34561, true);
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
    expect(grants[0].client_name).toContain("MCP");
  });

  test("restarted after its access token expired, it refreshes (no sign-in) and keeps working", async () => {
    const before = mt("oauth", "grants", "desk", "--json").json().grants[0].last_used_at;
    await Bun.sleep(8_000);
    const bridge = await startBridge(34561, false);
    expect(((await bridge.client.callTool({ name: "list_documents", arguments: {} })) as any).isError).toBeFalsy();
    expect(bridge.stderr()).not.toContain("Please authorize");
    await bridge.close();
    expect(mt("oauth", "grants", "desk", "--json").json().grants[0].last_used_at).not.toBe(before);
  });

  test("after the grant is revoked it is refused and asks the user to sign in again", async () => {
    const grant = mt("oauth", "grants", "desk", "--json").json().grants[0].id;
    expect(mt("oauth", "revoke", grant).code).toBe(0);
    await Bun.sleep(1_100);
    let err = "";
    const transport = new StdioClientTransport({
      command: node!,
      args: [join(root, "node_modules/mcp-remote/dist/proxy.js"), server.url, "34562"],
      env: { PATH: "/nonexistent", HOME: configDir, MCP_REMOTE_CONFIG_DIR: configDir, BROWSER: "/bin/false" },
      stderr: "pipe",
    });
    transport.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
    const client = new Client({ name: "desktop-app-stand-in", version: "1.0.0" });
    void client.connect(transport).catch(() => undefined);
    const deadline = Date.now() + 20_000;
    while (!err.includes("Please authorize this client") && Date.now() < deadline) await Bun.sleep(100);
    expect(err).toContain("Please authorize this client");
    await client.close().catch(() => undefined);
  });
});
