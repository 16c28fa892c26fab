/**
 * Client ID Metadata Documents with a real client: the SDK v2 client given a clientMetadataUrl uses it as its
 * client_id (no registration); mcp-mt fetches the document over https (a test CA; private hosts allowed for
 * this test only), shows the verified host on the consent page, and the flow completes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { nodeBinary, startBridge } from "../helpers/mcp-remote.ts";
import { MemoryOAuthProvider } from "../helpers/oauth-provider.ts";
import { connectSdkWithOAuth } from "../helpers/oauth-sdk.ts";
import { startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

const pki = tempDir("oauth-cimd-pki-");
const redirect = "http://127.0.0.1:35771/callback";
const bridgeRedirects = ["http://localhost:35772/oauth/callback", "http://127.0.0.1:35772/oauth/callback"];
let dir: string;
let bin: string;
let server: ServerProcess;
let docs: Server<undefined>;
let password: string;
let fetched = 0;

function openssl(...args: string[]) {
  const result = Bun.spawnSync(["openssl", ...args], { cwd: pki, stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr}`);
}

beforeAll(async () => {
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=mcp-mt cimd test CA");
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "docs.key", "-out", "docs.csr", "-subj", "/CN=127.0.0.1");
  writeFileSync(join(pki, "ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
  openssl("x509", "-req", "-in", "docs.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "docs.pem", "-days", "2", "-extfile", "ext.cnf");
  docs = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: readFileSync(join(pki, "docs.pem"), "utf8"), key: readFileSync(join(pki, "docs.key"), "utf8") },
    fetch(request) {
      fetched++;
      if (new URL(request.url).pathname === "/bridge.json") return Response.json({ client_id: request.url, client_name: "Bridge via CIMD", redirect_uris: bridgeRedirects, token_endpoint_auth_method: "none" });
      return Response.json({ client_id: request.url, client_name: "CIMD Desk", redirect_uris: [redirect], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" });
    },
  });
  ({ dir, bin } = binaryInEmptyDir());
  run(bin, ["tenant", "add", "acme"], { cwd: dir });
  password = run(bin, ["member", "add", "acme", "cim@acme.example", "--json"], { cwd: dir }).json().password;
  writeFileSync(join(dir, "mcp-mt.toml"), `[auth.oauth]\ncimd_allow_private = true\n`);
  server = await startServe(bin, dir, [], { NODE_EXTRA_CA_CERTS: join(pki, "ca.pem") });
});
afterAll(async () => {
  await server?.stop();
  docs?.stop(true);
  cleanupTempDirs();
});

describe("SDK v2 client with a client metadata document", () => {
  test("the URL is the client_id, nothing is registered, the consent page shows the verified host, tools work", async () => {
    const url = `https://127.0.0.1:${docs.port}/oauth/client.json`;
    const provider = new MemoryOAuthProvider(redirect, "ignored: the document names the client", { clientMetadataUrl: url });
    let consent = "";
    const { client } = await connectSdkWithOAuth(server.url, provider, { email: "cim@acme.example", password }, { onConsent: (html) => (consent = html) });
    expect(provider.authorizationUrl!.searchParams.get("client_id")).toBe(url);
    expect(consent).toContain("Allow CIMD Desk?");
    expect(consent).toContain("verified: 127.0.0.1");
    expect((await client.callTool({ name: "list_documents", arguments: {} })).isError).toBeFalsy();
    await client.close();
    expect(run(bin, ["oauth", "client", "list", "--json"], { cwd: dir }).json().clients).toEqual([]);
    const grants = run(bin, ["oauth", "grants", "acme", "--json"], { cwd: dir }).json().grants;
    expect(grants[0]).toMatchObject({ client_id: url, client_name: "CIMD Desk" });
    // Fetched once, then served from the cache for the rest of the flow.
    expect(fetched).toBe(1);
  });
});

describe.skipIf(!nodeBinary)("mcp-remote with --client-metadata-url", () => {
  test("uses the document URL as client_id (no registration), signs in, calls a tool", async () => {
    const url = `https://127.0.0.1:${docs.port}/bridge.json`;
    let consent = "";
    const bridge = await startBridge(server.url, 35772, tempDir("mcp-remote-cimd-"), { email: "cim@acme.example", password }, ["--client-metadata-url", url], (html) => (consent = html));
    expect(consent).toContain("Allow Bridge via CIMD?");
    expect(consent).toContain("verified: 127.0.0.1");
    expect(((await bridge.client.callTool({ name: "list_documents", arguments: {} })) as any).isError).toBeFalsy();
    await bridge.close();
    expect(run(bin, ["oauth", "client", "list", "--json"], { cwd: dir }).json().clients).toEqual([]);
    expect(run(bin, ["oauth", "grants", "acme", "--json"], { cwd: dir }).json().grants.map((g: any) => g.client_id)).toContain(url);
  });
});
