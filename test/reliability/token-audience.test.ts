/** `token issue` gives tokens the server they are for accepts: its audience follows the server's real URL. */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const secret = "a-shared-secret-of-at-least-32-bytes-0123456789";
const env = { MCP_MT_AUTH_JWT_SECRET: secret };

function setup() {
  const { dir, bin } = binaryInEmptyDir();
  writeFileSync(join(dir, "mcp-mt.toml"), `[auth.jwt]\nissuer = "mcp-mt-test"\n`);
  expect(run(bin, ["tenant", "add", "acme"], { cwd: dir, env }).code).toBe(0);
  return { dir, bin };
}

const claims = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());

describe("token issue audience", () => {
  test("with a server running on a port other than the configured one, its token is accepted and the audience printed", async () => {
    const { dir, bin } = setup();
    const server = await startServe(bin, dir, ["--host", "127.0.0.1"], env);
    try {
      expect(server.port).not.toBe(8787);
      const issued = run(bin, ["token", "issue", "acme", "--ttl", "10m"], { cwd: dir, env });
      expect(issued.code).toBe(0);
      const token = issued.stdout.trim();
      expect(claims(token).aud).toBe(server.url);
      expect(issued.stderr).toContain(`audience (aud): ${server.url}, from the running server`);
      const { body, headers } = modernRequest("tools/list");
      const response = await fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      expect(response.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test.each([
    [["--port", "9100"], "http://127.0.0.1:9100/mcp"],
    [["--host", "::1", "--port", "9101"], "http://[::1]:9101/mcp"],
    [["--public-url", "https://mcp.example.com/"], "https://mcp.example.com/mcp"],
  ])("the same overrides as serve %p → aud %s", (flags, audience) => {
    const { dir, bin } = setup();
    const issued = run(bin, ["token", "issue", "acme", ...flags, "--json"], { cwd: dir, env });
    expect(issued.code).toBe(0);
    const out = issued.json();
    expect(out.audience).toBe(audience);
    expect(out.audience_from).toBe("the command-line flags");
    expect(claims(out.token).aud).toBe(audience);
  });

  test("a bad --port is a usage error naming it", () => {
    const { dir, bin } = setup();
    const issued = run(bin, ["token", "issue", "acme", "--port", "http"], { cwd: dir, env });
    expect(issued.code).toBe(2);
    expect(issued.stderr).toContain('--port "http" is not a port number');
  });
});
