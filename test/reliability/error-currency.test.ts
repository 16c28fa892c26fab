/** An AppError from deep code (a tenant whose database file vanished) reaches the client as itself, never as a 500. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { v2Stdio } from "../helpers/clients.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let server: ServerProcess;
let key: string;

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  key = run(bin, ["tenant", "add", "gone", "--json"], { cwd: dir }).json().api_key;
  for (const suffix of ["", "-wal", "-shm"]) rmSync(join(dir, "data", "tenants", `gone.db${suffix}`), { force: true });
  server = await startServe(bin, dir);
});
afterAll(async () => {
  await server?.stop();
  cleanupTempDirs();
});

async function post(method: string, params: Record<string, unknown>) {
  const { body, headers } = modernRequest(method, params, 1);
  const response = await fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as any };
}

test("HTTP: a tool call is a tool error naming the cause; a resource read is a JSON-RPC error naming it; neither is a 500", async () => {
  const call = await post("tools/call", { name: "list_documents", arguments: {} });
  expect(call.status).toBe(200);
  expect(call.json.result).toMatchObject({ isError: true, content: [{ text: "tenant gone has no database" }] });
  const read = await post("resources/read", { uri: "mcp-mt://documents/doc_1" });
  expect(read.status).not.toBe(500);
  // Not "Internal error": the cause, with a non-internal code (the SDK answers a failed resources/read as -32602).
  expect(read.json.error.message).toBe("tenant gone has no database");
  expect(read.json.error.code).not.toBe(-32603);
  expect(server.stderr()).not.toContain("unhandled error");
});

test("stdio: the same answers", async () => {
  const client = await v2Stdio(bin, dir, { MCP_MT_API_KEY: key }, "modern");
  try {
    expect(await client.callTool("list_documents", {})).toMatchObject({ isError: true, content: [{ text: "tenant gone has no database" }] });
    const error = await client.readResource("mcp-mt://documents/doc_1").then(
      () => null,
      (e: { code?: number; message?: string }) => e,
    );
    expect(error?.code).not.toBe(-32603);
    expect(error?.message).toContain("tenant gone has no database");
  } finally {
    await client.close();
  }
});
