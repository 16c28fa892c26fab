/** Every official client, in both protocol eras, over HTTP and stdio, uses every tool of the compiled binary. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { v1Http, v1Stdio, v2Http, v2Stdio, type AnyClient } from "../helpers/clients.ts";
import { startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let server: ServerProcess;

function addTenant(id: string): string {
  const result = run(bin, ["tenant", "add", id, "--json"], { cwd: dir });
  if (result.code !== 0) throw new Error(result.stderr);
  return result.json().api_key;
}

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  for (const id of ["h-modern", "h-legacy", "h-v1", "s-modern", "s-legacy", "s-v1", "s-operator"]) keys[id] = addTenant(id);
  server = await startServe(bin, dir);
});
afterAll(async () => {
  await server?.stop();
  cleanupTempDirs();
});

const keys: Record<string, string> = {};

const variants: [string, () => Promise<AnyClient>, string][] = [
  ["h-modern", () => v2Http(server.url, keys["h-modern"]!, "modern"), "2026-07-28"],
  ["h-legacy", () => v2Http(server.url, keys["h-legacy"]!, "legacy"), "2025-11-25"],
  ["h-v1", () => v1Http(server.url, keys["h-v1"]!), "2025-11-25"],
  ["s-modern", () => v2Stdio(bin, dir, { MCP_MT_API_KEY: keys["s-modern"]! }, "modern"), "2026-07-28"],
  ["s-legacy", () => v2Stdio(bin, dir, { MCP_MT_API_KEY: keys["s-legacy"]! }, "legacy"), "2025-11-25"],
  ["s-v1", () => v1Stdio(bin, dir, { MCP_MT_API_KEY: keys["s-v1"]! }), "2025-11-25"],
  ["s-operator", () => v2Stdio(bin, dir, {}, "modern", ["--tenant", "s-operator"]), "2026-07-28"],
];

describe.each(variants)("%s", (_tenant, connect, era) => {
  let client: AnyClient;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(async () => client?.close());

  test("negotiates the expected protocol revision and lists every tool with annotations", async () => {
    if (!client.label.startsWith("v1")) expect(client.protocolVersion()).toBe(era);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["create_document", "delete_document", "get_document", "get_usage_report", "list_documents", "search_documents", "update_document"]);
    expect(tools.find((t) => t.name === "get_document")!.annotations).toMatchObject({ readOnlyHint: true });
    expect(tools.find((t) => t.name === "delete_document")!.annotations).toMatchObject({ destructiveHint: true });
  });

  test("create, get, list with pagination, search, update with a conflict, delete", async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await client.callTool("create_document", { title: `Note ${i}`, content: `entry ${i} about ${i === 3 ? "platypus husbandry" : "ordinary things"}`, tags: i % 2 ? ["odd"] : [] });
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent.version).toBe(1);
      expect(r.structuredContent.id).toMatch(/^doc_/);
      expect(r.content[0].text).toContain(r.structuredContent.id);
      created.push(r.structuredContent.id);
    }
    const got = await client.callTool("get_document", { id: created[3] });
    expect(got.structuredContent).toMatchObject({ id: created[3], title: "Note 3", content: "entry 3 about platypus husbandry", tags: ["odd"], version: 1 });

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.callTool("list_documents", { limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.isError).toBeFalsy();
      seen.push(...page.structuredContent.documents.map((d: { id: string }) => d.id));
      cursor = page.structuredContent.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...created].reverse());
    const odd = await client.callTool("list_documents", { tag: "odd" });
    expect(odd.structuredContent.documents.map((d: { id: string }) => d.id)).toEqual([created[3], created[1]]);

    const found = await client.callTool("search_documents", { query: "platypus" });
    expect(found.structuredContent.count).toBe(1);
    expect(found.structuredContent.results[0].id).toBe(created[3]);
    expect(found.structuredContent.results[0].snippet).toContain("**platypus**");

    const updated = await client.callTool("update_document", { id: created[3], content: "now about wombats", expected_version: 1 });
    expect(updated.structuredContent.version).toBe(2);
    const conflict = await client.callTool("update_document", { id: created[3], title: "stale write", expected_version: 1 });
    expect(conflict.isError).toBe(true);
    expect(conflict.content[0].text).toContain("is at version 2, not 1");
    expect((await client.callTool("search_documents", { query: "platypus" })).structuredContent.count).toBe(0);
    expect((await client.callTool("search_documents", { query: "wombats" })).structuredContent.count).toBe(1);

    const deleted = await client.callTool("delete_document", { id: created[0] });
    expect(deleted.structuredContent).toEqual({ id: created[0], deleted: true });
    const gone = await client.callTool("get_document", { id: created[0] });
    expect(gone.isError).toBe(true);
    expect(gone.content[0].text).toBe(`document ${created[0]} not found`);
  });

  test("documents are resources: paginated list and read", async () => {
    const listed = await client.listResources();
    expect(listed.resources.length).toBe(4);
    const uri = listed.resources[0]!.uri;
    expect(uri).toMatch(/^mcp-mt:\/\/documents\/doc_/);
    const read = await client.readResource(uri);
    expect(read.contents[0]!.text).toStartWith("# Note 4");
  });
});
