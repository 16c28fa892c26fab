/** An audit entry that cannot be written is never silent: logged at error level and counted. */
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

describe("audit write failures", () => {
  test("on the authentication and authorization paths: the request is answered as usual, the loss is logged and counted", async () => {
    const { dir, bin } = binaryInEmptyDir();
    run(bin, ["tenant", "add", "acme"], { cwd: dir });
    const readOnly = run(bin, ["key", "create", "acme", "--scopes", "documents:read", "--json"], { cwd: dir }).json().api_key;
    const server = await startServe(bin, dir);
    const status = async () => (await (await fetch("http://x/v1/status", { unix: join(dir, "data", "admin.sock") } as RequestInit)).json()) as { audit_write_failures: number };
    try {
      expect((await status()).audit_write_failures).toBe(0);
      // A fault in the control plane that only audit writes hit.
      const control = new Database(join(dir, "data", "control.db"));
      control.run("CREATE TRIGGER injected_fault BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'injected audit fault'); END");
      control.close();

      const { body, headers } = modernRequest("tools/call", { name: "create_document", arguments: { title: "t", content: "x" } });
      const send = (key: string) => fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
      expect((await send("mcpmt_not_a_real_key")).status).toBe(401);
      expect((await send(readOnly)).status).toBe(403);

      for (let i = 0; i < 50 && (await status()).audit_write_failures < 2; i++) await Bun.sleep(100);
      expect((await status()).audit_write_failures).toBe(2);
      await Bun.sleep(100); // the logger writes on the next turn
      const lines = server
        .stderr()
        .split("\n")
        .filter((line) => line.includes("audit entry could not be written"))
        .map((line) => JSON.parse(line));
      expect(lines.map((l) => [l.level, l.action, l.error.includes("injected audit fault")]).sort()).toEqual([
        ["error", "auth.failed", true],
        ["error", "authz.denied", true],
      ]);
    } finally {
      await server.stop();
    }
  });
});
