/** Tenant isolation, attacked from tenant A's side with everything it can send. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { binaryInEmptyDir, run, testStorage } from "../helpers/binary.ts";
import { v2Http, type AnyClient } from "../helpers/clients.ts";
import { pgServer } from "../helpers/postgres.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let database: string | undefined;
let bin: string;
let server: ServerProcess;
let keyA: string;
let keyB: string;
let a: AnyClient;
let b: AnyClient;
const idsA: string[] = [];
const idsB: string[] = [];

beforeAll(async () => {
  ({ dir, bin, database } = binaryInEmptyDir());
  keyA = run(bin, ["tenant", "add", "alpha", "--json"], { cwd: dir }).json().api_key;
  keyB = run(bin, ["tenant", "add", "bravo", "--json"], { cwd: dir }).json().api_key;
  // The concurrent-ids test must not meet the free plan's concurrency cap (not what it is about).
  for (const id of ["alpha", "bravo"]) run(bin, ["tenant", "set-limit", id, "--max-concurrency", "1000"], { cwd: dir });
  server = await startServe(bin, dir);
  a = await v2Http(server.url, keyA, "modern");
  b = await v2Http(server.url, keyB, "legacy");
  // Overlapping titles and content, plus words only one tenant has.
  for (let i = 0; i < 3; i++) {
    idsA.push((await a.callTool("create_document", { title: `Shared title ${i}`, content: `common words and alphaonly${i}`, tags: ["shared"] })).structuredContent.id);
    idsB.push((await b.callTool("create_document", { title: `Shared title ${i}`, content: `common words and bravosecret${i}`, tags: ["shared"] })).structuredContent.id);
  }
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await server?.stop();
  cleanupTempDirs();
});

describe("tenant isolation", () => {
  test("B's document ids are 'not found' in every tool, exactly as ids that never existed", async () => {
    const never = "doc_AAAAAAAAAAAAAAAAAAAAAA";
    for (const [tool, extra] of [
      ["get_document", {}],
      ["update_document", { title: "hijacked" }],
      ["delete_document", {}],
    ] as const) {
      const foreign = await a.callTool(tool, { id: idsB[0], ...extra });
      const missing = await a.callTool(tool, { id: never, ...extra });
      expect(foreign.isError).toBe(true);
      expect(foreign.content[0].text).toBe(`document ${idsB[0]} not found`);
      expect(missing.content[0].text).toBe(`document ${never} not found`);
    }
    // B's document is untouched by A's attempts
    const own = await b.callTool("get_document", { id: idsB[0] });
    expect(own.structuredContent.title).toBe("Shared title 0");
    expect(own.structuredContent.version).toBe(1);
  });

  test("B's documents cannot be read as resources by A", async () => {
    await expect(a.readResource(`mcp-mt://documents/${idsB[1]}`)).rejects.toThrow();
    const mine = await a.readResource(`mcp-mt://documents/${idsA[1]}`);
    expect(mine.contents[0]!.text).toContain("alphaonly1");
  });

  test("searching for B's unique words finds nothing; shared words find only A's documents", async () => {
    for (const word of ["bravosecret0", "bravosecret1", "bravosecret*", "bravo*"]) {
      expect((await a.callTool("search_documents", { query: word })).structuredContent.count).toBe(0);
    }
    const shared = await a.callTool("search_documents", { query: "common words", limit: 100 });
    expect(shared.structuredContent.results.map((r: { id: string }) => r.id).sort()).toEqual([...idsA].sort());
  });

  test("paging through everything (tools and resources) yields only A's documents", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await a.callTool("list_documents", { limit: 1, ...(cursor ? { cursor } : {}) });
      seen.push(...page.structuredContent.documents.map((d: { id: string }) => d.id));
      cursor = page.structuredContent.next_cursor ?? undefined;
    } while (cursor);
    expect(seen.sort()).toEqual([...idsA].sort());
    expect((await a.callTool("list_documents", { tag: "shared", limit: 100 })).structuredContent.documents.length).toBe(3);
    const resources = await a.listResources();
    expect(resources.resources.map((r) => r.uri.split("/").pop()).sort()).toEqual([...idsA].sort());
  });

  test("a cursor from B's listing reveals nothing of B when A uses it", async () => {
    const pageB = await b.callTool("list_documents", { limit: 1 });
    const cursorB = pageB.structuredContent.next_cursor;
    const withB = await a.callTool("list_documents", { limit: 10, cursor: cursorB });
    for (const doc of withB.structuredContent.documents) expect(idsA).toContain(doc.id);
  });

  test("identical JSON-RPC ids fired concurrently by both tenants get each their own answers", async () => {
    const call = (key: string, id: string) => {
      const { body, headers } = modernRequest("tools/call", { name: "get_document", arguments: { id } }, 7);
      return fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
    };
    const calls = Array.from({ length: 40 }, (_, i) => (i % 2 ? call(keyB, idsB[i % 3]!) : call(keyA, idsA[i % 3]!)));
    const answers = await Promise.all(calls);
    answers.forEach((answer, i) => {
      expect(answer.id).toBe(7);
      const doc = answer.result.structuredContent;
      expect(doc.id).toBe(i % 2 ? idsB[i % 3] : idsA[i % 3]);
      expect(doc.content).toContain(i % 2 ? "bravosecret" : "alphaonly");
    });
  });

  test("nothing in a request can name another tenant: headers and arguments are ignored", async () => {
    const { body, headers } = modernRequest("tools/call", { name: "list_documents", arguments: { limit: 100 } });
    const response = await fetch(`${server.url}?tenant=bravo`, {
      method: "POST",
      headers: { ...headers, authorization: `Bearer ${keyA}`, "x-tenant-id": "bravo", "x-mcp-mt-tenant": "bravo" },
      body: JSON.stringify(body),
    });
    const docs = ((await response.json()) as any).result.structuredContent.documents.map((d: { id: string }) => d.id);
    expect(docs.sort()).toEqual([...idsA].sort());
    const extra = await a.callTool("get_document", { id: idsB[0], tenant: "bravo" });
    expect(extra.isError).toBe(true);
  });

  // libSQL only: on PostgreSQL the next test checks where each strategy stored the rows.
  test.skipIf(testStorage !== "")("each tenant's data lives in its own file", async () => {
    const fileA = await Bun.file(`${dir}/data/tenants/alpha.db`).exists();
    expect(fileA).toBe(true);
    const { Database } = await import("bun:sqlite");
    const db = new Database(`${dir}/data/tenants/alpha.db`, { readonly: true });
    const contents = db.query("SELECT content FROM documents").all() as { content: string }[];
    db.close();
    expect(contents.some((r) => r.content.includes("bravosecret"))).toBe(false);
    expect(contents.length).toBe(3);
  });

  // PostgreSQL only: the libSQL file is checked by the previous test.
  test.skipIf(testStorage === "")("after the attacks, PostgreSQL holds each tenant's documents where that tenant lives, and only them", () => {
    // Read as superuser, past row-level security: what is really stored, not what a tenant is shown.
    const rows = (sql: string, db = database!) => pgServer().psql(sql, db).trim().split("\n").filter(Boolean).sort();
    const mine = (ids: string[], tenant: string) => ids.map((id) => `${tenant}|${id}`).sort();
    if (testStorage === "row") {
      // Every row's tenant_id is the tenant that created it: no cross-tenant write happened.
      expect(rows("SELECT tenant_id || '|' || id FROM documents")).toEqual([...mine(idsA, "alpha"), ...mine(idsB, "bravo")].sort());
      expect(rows("SELECT id FROM documents WHERE tenant_id = 'alpha' AND content LIKE '%bravosecret%'")).toEqual([]);
      expect(rows("SELECT tenant_id || '|' || tag FROM document_tags")).toEqual([...mine(["shared", "shared", "shared"], "alpha"), ...mine(["shared", "shared", "shared"], "bravo")].sort());
      return;
    }
    for (const [tenant, ids] of [["alpha", idsA], ["bravo", idsB]] as const) {
      const sql = (table: string) => (testStorage === "schema" ? `"t_${tenant}".${table}` : table);
      const db = testStorage === "schema" ? database! : `${database}_t_${tenant}`;
      expect(rows(`SELECT '${tenant}|' || id FROM ${sql("documents")}`, db)).toEqual(mine(ids, tenant));
      expect(rows(`SELECT id FROM ${sql("documents")} WHERE content LIKE '%${tenant === "alpha" ? "bravosecret" : "alphaonly"}%'`, db)).toEqual([]);
    }
  });
});
