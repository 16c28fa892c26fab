/** Every validation message a person reads is phrased for a person: tool arguments, the config, the admin API. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { v2Http, v1Http, type AnyClient } from "../helpers/clients.ts";
import { startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let server: ServerProcess;
let clients: AnyClient[];

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  const key = run(bin, ["tenant", "add", "acme", "--json"], { cwd: dir }).json().api_key;
  server = await startServe(bin, dir);
  clients = [await v2Http(server.url, key, "modern"), await v1Http(server.url, key)];
});
afterAll(async () => {
  for (const client of clients) await client.close();
  await server.stop();
  cleanupTempDirs();
});

const toolCases: [string, Record<string, unknown>, string][] = [
  ["create_document", { title: "t" }, "content is required"],
  ["create_document", { content: "x" }, "title is required"],
  ["create_document", { title: 5, content: "x" }, "title must be text, not the number 5"],
  ["create_document", { title: "t", content: "x", tags: ["ok", 7] }, "tags[1] must be text, not the number 7"],
  ["create_document", { title: "t", content: "x", tags: "one" }, "tags must be a list, not text"],
  ["get_document", {}, "id is required"],
  ["list_documents", { limit: 2.5 }, "limit must be a whole number, not a fraction"],
  ["list_documents", { limit: "10" }, "limit must be a number, not text"],
  ["search_documents", {}, "query is required"],
  ["update_document", { id: "doc_x", expected_version: "1" }, "expected_version must be"],
];

describe("tool arguments", () => {
  test.each(toolCases)("%s %j → %s", async (tool, args, says) => {
    for (const client of clients) {
      const result = await client.callTool(tool, args);
      const text = result.content.map((c: { text?: string }) => c.text ?? "").join(" ");
      expect(result.isError).toBe(true);
      expect(text).toContain(says);
      expect(text).not.toMatch(/Invalid input|received|expected (string|number)/);
    }
  });
});

describe("config and admin API", () => {
  test.each([
    ['[server]\nport = "eighty"\n', "server.port must be a number, not text"],
    ["[server]\nport = 70000\n", "server.port must be at most 65535"],
    ['[log]\nlevel = "loud"\n', 'log.level must be one of "debug", "info", "warn", "error"'],
    ["[tenancy]\nmax_open_tenants = 0\n", "tenancy.max_open_tenants must be"],
  ])("config %j → %s", (toml, says) => {
    writeFileSync(join(dir, "bad.toml"), toml);
    const result = run(bin, ["config", "check", "--config", "bad.toml"], { cwd: dir });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(says);
    expect(result.stderr).not.toMatch(/Invalid input|received|Too (big|small)/);
  });

  test("an admin API body missing a field says which", async () => {
    const response = await fetch("http://x/v1/tenants/acme/plan", { method: "POST", unix: join(dir, "data", "admin.sock"), body: "{}", headers: { "content-type": "application/json" } } as RequestInit);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe("invalid request body: plan is required");
  });
});
