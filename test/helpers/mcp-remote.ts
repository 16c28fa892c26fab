/**
 * `mcp-remote` (the bridge desktop apps use) under an MCP client, as a desktop app's config runs it: stdio to
 * the bridge, the bridge to the server over HTTP with OAuth. The browser step is driven over plain HTTP.
 */
import { expect } from "bun:test";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { join } from "node:path";
import { root } from "./binary.ts";
import { authorizeInBrowser, PlainBrowser, type SignIn } from "./oauth-browser.ts";

export const nodeBinary = Bun.which("node");

export type Bridge = { client: Client; connected: Promise<void>; stderr: () => string; close(): Promise<void> };

/** Starts the bridge; with `who`, completes the sign-in it asks for (and checks the redirect went to its callback port). */
export async function startBridge(serverUrl: string, callbackPort: number, configDir: string, who: SignIn | null, extraArgs: string[] = [], onConsent?: (html: string) => void): Promise<Bridge> {
  let err = "";
  const transport = new StdioClientTransport({
    command: nodeBinary!,
    args: [join(root, "node_modules/mcp-remote/dist/proxy.js"), serverUrl, String(callbackPort), ...extraArgs],
    // No browser may open: PATH holds nothing, BROWSER fails; the test is the user's browser.
    env: { PATH: "/nonexistent", HOME: configDir, MCP_REMOTE_CONFIG_DIR: configDir, BROWSER: "/bin/false" },
    stderr: "pipe",
  });
  transport.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const client = new Client({ name: "desktop-app-stand-in", version: "1.0.0" });
  const connected = client.connect(transport);
  if (who) {
    const url = await authorizationUrl(() => err);
    const callback = await authorizeInBrowser(new PlainBrowser(), url, who, { onConsent });
    expect(callback.port).toBe(String(callbackPort));
    // The browser lands on the bridge's loopback callback, which takes the code.
    expect((await fetch(callback)).status).toBe(200);
    await connected;
  }
  return { client, connected, stderr: () => err, close: () => client.close() };
}

/** The authorization URL the bridge prints when it needs the user to sign in. */
export async function authorizationUrl(stderr: () => string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let url: string | undefined;
  while (!(url = /Please authorize this client by visiting:\s+(\S+)/.exec(stderr())?.[1])) {
    if (Date.now() > deadline) throw new Error(`mcp-remote never asked for sign-in:\n${stderr()}`);
    await Bun.sleep(100);
  }
  return url;
}
