/**
 * Growing from one binary to a cluster: a populated libSQL installation copied into PostgreSQL with
 * `storage copy`, served from there (old keys, every document, audit chain, usage), copied again safely.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { pgDatabase } from "../helpers/postgres.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let pgUrl: string;
const keys: Record<string, string> = {};
const docs: Record<string, { id: string; title: string; content: string; tags: string[] }[]> = {};
const masterKey = Buffer.alloc(32, 7).toString("base64");

const mt = (env: Record<string, string>, ...args: string[]) => run(bin, args, { cwd: dir, env: { MCP_MT_ENCRYPTION_MASTER_KEY: masterKey, ...env } });
const onPg = () => ({ MCP_MT_STORAGE_URL: pgUrl, MCP_MT_AUTH_PEPPER: readFileSync(join(dir, "data", "pepper"), "utf8").trim() });

async function call(server: ServerProcess, key: string, tool: string, args: Record<string, unknown> = {}) {
  const { body, headers } = modernRequest("tools/call", { name: tool, arguments: args });
  const response = await fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json().catch(() => null)) as any };
}

const tenants = ["alpha", "beta-co", "secret"];

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  pgUrl = pgDatabase("copy").url;
  for (const id of tenants) keys[id] = mt({}, "tenant", "add", id, "--plan", id === "beta-co" ? "pro" : "free", "--json").json().api_key;
  const server = await startServe(bin, dir, [], { MCP_MT_ENCRYPTION_MASTER_KEY: masterKey });
  try {
    for (const id of tenants) {
      docs[id] = [];
      for (let i = 0; i < 12; i++) {
        const doc = { title: `${id} note ${i} — Ünïcødé ✓ 日本語`, content: `body ${i} of ${id}: "quotes", back\\slash, emoji 🚀 ${"x".repeat(i * 50)}`, tags: i % 3 ? [`t${i % 3}`, "ß-tag"] : [] };
        const created = await call(server, keys[id]!, "create_document", doc);
        expect(created.status).toBe(200);
        docs[id].push({ id: created.body.result.structuredContent.id, ...doc });
      }
      // One deleted and one updated: versions and the stats must follow.
      await call(server, keys[id]!, "delete_document", { id: docs[id].pop()!.id });
      const first = docs[id][0]!;
      expect((await call(server, keys[id]!, "update_document", { id: first.id, content: "updated once", expected_version: 1 })).status).toBe(200);
      first.content = "updated once";
    }
  } finally {
    await server.stop();
  }
}, 60_000);
afterAll(cleanupTempDirs);

describe("storage copy", () => {
  test("refuses without a target, or with a bad one, naming what is wrong", () => {
    const none = mt({}, "storage", "copy");
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain("--to postgres://");
    const bad = mt({}, "storage", "copy", "--to", "mysql://x", "--isolation", "row");
    expect(bad.stderr).toContain("--to must be a postgres:// URL");
    const iso = mt({}, "storage", "copy", "--to", pgUrl, "--isolation", "cluster");
    expect(iso.stderr).toContain("--isolation must be row, schema or database");
  });

  let first: any;
  test("copies every table and tenant, verified, and says what to change without printing secrets", () => {
    const copied = mt({}, "storage", "copy", "--to", pgUrl, "--json");
    expect(copied.code).toBe(0);
    // The URL on the command line carries the password: never echoed back, in the JSON report either.
    expect(copied.stdout + copied.stderr).not.toContain("app-secret-for-tests");
    first = copied.json();
    expect(first.ok).toBe(true);
    expect(first.tenants.map((t: any) => [t.tenant, t.source_documents, t.target_documents, t.checksum_ok])).toEqual(tenants.map((t) => [t, 11, 11, true]));
    for (const t of first.tables) expect([t.table, t.checksum_ok, t.source_rows]).toEqual([t.table, true, t.target_rows]);
    expect(first.tables.find((t: any) => t.table === "audit_log").source_rows).toBeGreaterThan(3);
    const human = mt({ MCP_MT_STORAGE_COPY_TO: pgUrl }, "storage", "copy");
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("MCP_MT_STORAGE_URL");
    expect(human.stdout).toContain(join(dir, "data", "pepper"));
    expect(human.stdout).not.toContain(readFileSync(join(dir, "data", "pepper"), "utf8").trim());
    expect(human.stdout).not.toContain("app-secret-for-tests");
  });

  test("a second run is safe and brings the target up to date (deleted at the source: deleted in the target)", async () => {
    const server = await startServe(bin, dir, [], { MCP_MT_ENCRYPTION_MASTER_KEY: masterKey });
    try {
      await call(server, keys.alpha!, "delete_document", { id: docs.alpha!.pop()!.id });
    } finally {
      await server.stop();
    }
    const again = mt({}, "storage", "copy", "--to", pgUrl, "--json");
    expect(again.code).toBe(0);
    const report = again.json();
    expect(report.tenants.map((t: any) => [t.tenant, t.target_documents, t.removed, t.checksum_ok])).toEqual([["alpha", 10, 1, true], ["beta-co", 11, 0, true], ["secret", 11, 0, true]]);
    expect(mt(onPg(), "audit", "verify").code).toBe(0);
  }, 60_000);
  test("an import into an existing tenant's libSQL file is refused while a server serves the directory (one writer per file)", async () => {
    const out = join(dir, "alpha-while-serving.db");
    expect(mt({}, "tenant", "export", "alpha", "--out", out).code).toBe(0);
    const server = await startServe(bin, dir, [], { MCP_MT_ENCRYPTION_MASTER_KEY: masterKey });
    try {
      const refused = mt({}, "tenant", "import", out, "--id", "alpha", "--into-existing");
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain("a server is serving");
    } finally {
      await server.stop();
    }
    const done = mt({}, "tenant", "import", out, "--id", "alpha", "--into-existing", "--json");
    expect([done.code, done.json().verified]).toEqual([0, true]);
  }, 60_000);

  test("served from PostgreSQL: old keys work, every document is there, audit verifies, usage matches", async () => {
    const before = mt({}, "usage", "--format", "json").json();
    expect(mt(onPg(), "usage", "--format", "json").json()).toEqual(before);
    const server = await startServe(bin, dir, [], onPg());
    try {
      for (const id of tenants) {
        for (const doc of docs[id]!) {
          const got = await call(server, keys[id]!, "get_document", { id: doc.id });
          expect(got.status).toBe(200);
          expect(got.body.result.structuredContent).toMatchObject({ id: doc.id, title: doc.title, content: doc.content, tags: doc.tags });
        }
        const found = await call(server, keys[id]!, "search_documents", { query: "updated" });
        expect(found.body.result.structuredContent.results.map((r: any) => r.id)).toEqual([docs[id]![0]!.id]);
      }
      // Tenant isolation survives the copy: alpha's key cannot read beta-co's document.
      const other = await call(server, keys.alpha!, "get_document", { id: docs["beta-co"]![1]!.id });
      expect(other.body.result?.isError ?? other.status !== 200).toBe(true);
    } finally {
      await server.stop();
    }
    expect(mt(onPg(), "audit", "verify").code).toBe(0);
    const show = mt(onPg(), "tenant", "show", "secret", "--json").json();
    expect(show.isolation).toBe("row");
  }, 60_000);

  test("once PostgreSQL has served traffic, another copy is refused and changes nothing", () => {
    const refused = mt({}, "storage", "copy", "--to", pgUrl);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("has served traffic since the last copy");
    expect(mt(onPg(), "audit", "verify").code).toBe(0);
  });

  test("tenant export from a PostgreSQL row tenant, imported as a new schema tenant: the same documents", async () => {
    const out = join(dir, "alpha.db");
    const exported = mt(onPg(), "tenant", "export", "alpha", "--out", out, "--json");
    expect(exported.code).toBe(0);
    expect(exported.json().documents).toBe(10);
    expect(mt(onPg(), "tenant", "export", "alpha", "--out", out).stderr).toContain("never overwrites");
    expect(mt(onPg(), "tenant", "import", out).stderr).toContain("--into-existing");
    const imported = mt(onPg(), "tenant", "import", out, "--id", "alpha-two", "--isolation", "schema", "--json");
    expect(imported.code).toBe(0);
    const report = imported.json();
    expect([report.created, report.documents, report.verified, report.sha256]).toEqual([true, 10, true, exported.json().sha256]);
    expect(mt(onPg(), "tenant", "show", "alpha-two", "--json").json().isolation).toBe("schema");
    // Into the existing tenant again: an upsert, nothing doubled.
    const again = mt(onPg(), "tenant", "import", out, "--id", "alpha-two", "--into-existing", "--json");
    expect([again.code, again.json().created, again.json().verified]).toEqual([0, false, true]);
    const server = await startServe(bin, dir, [], onPg());
    try {
      for (const doc of docs.alpha!) {
        const got = await call(server, report.api_key, "get_document", { id: doc.id });
        expect(got.body.result.structuredContent).toMatchObject({ id: doc.id, title: doc.title, content: doc.content, tags: doc.tags, version: doc === docs.alpha![0] ? 2 : 1 });
      }
      const listed = await call(server, report.api_key, "list_documents", { limit: 50 });
      expect(listed.body.result.structuredContent.documents.length).toBe(10);
    } finally {
      await server.stop();
    }
  }, 60_000);

  test("tenant move row → database under a concurrent writer: nothing acknowledged lost, 503 + Retry-After while paused", async () => {
    expect(mt(onPg(), "tenant", "set-limit", "beta-co", "--request-timeout-ms", "1000").code).toBe(0);
    const server = await startServe(bin, dir, [], onPg());
    const acked: string[] = [];
    const refusals: { status: number; retryAfter: string | null; message: string }[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const { body, headers } = modernRequest("tools/call", { name: "create_document", arguments: { title: `during move ${i}`, content: "x" } });
        const response = await fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${keys["beta-co"]}` }, body: JSON.stringify(body) });
        const json = (await response.json().catch(() => null)) as any;
        if (response.status === 200 && json?.result?.structuredContent?.id) acked.push(json.result.structuredContent.id);
        else refusals.push({ status: response.status, retryAfter: response.headers.get("retry-after"), message: JSON.stringify(json) });
        await Bun.sleep(20);
      }
    })();
    try {
      await Bun.sleep(300);
      const move = Bun.spawn([bin, "tenant", "move", "beta-co", "--isolation", "database", "--json"], { cwd: dir, env: { ...process.env, ...onPg() }, stdout: "pipe", stderr: "pipe" });
      const [code, out, err] = await Promise.all([move.exited, new Response(move.stdout).text(), new Response(move.stderr).text()]);
      expect(err).toBe("");
      expect(code).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ tenant: "beta-co", from: "row", to: "database", old_storage_removed: true });
      await Bun.sleep(1500);
      writing = false;
      await writer;
      expect(refusals.length).toBeGreaterThan(0);
      for (const r of refusals) expect([r.status, r.retryAfter, r.message.includes("is being moved; retry shortly")]).toEqual([503, "1", true]);
      const before = acked.length;
      expect(before).toBeGreaterThan(2);
      for (const id of [...acked, ...docs["beta-co"]!.map((d) => d.id)]) {
        const got = await call(server, keys["beta-co"]!, "get_document", { id });
        expect([id, got.status, got.body.result?.isError ?? false]).toEqual([id, 200, false]);
      }
      // Listed once each, in pages: nothing doubled by the copy.
      const listed: string[] = [];
      for (let cursor: string | undefined; ; ) {
        const page = (await call(server, keys["beta-co"]!, "list_documents", { limit: 50, ...(cursor ? { cursor } : {}) })).body.result.structuredContent;
        listed.push(...page.documents.map((d: any) => d.id));
        if (!page.next_cursor) break;
        cursor = page.next_cursor;
      }
      expect(listed.length).toBe(acked.length + docs["beta-co"]!.length);
      expect(new Set(listed).size).toBe(listed.length);
    } finally {
      writing = false;
      await writer;
      await server.stop();
    }
    expect(mt(onPg(), "tenant", "show", "beta-co", "--json").json().isolation).toBe("database");
    expect(mt(onPg(), "tenant", "move", "beta-co", "--isolation", "database").stderr).toContain("already uses database isolation");
    expect(mt(onPg(), "audit", "verify").code).toBe(0);
  }, 60_000);

  test("a move refuses a second move of the same tenant; a resume during a move wins: the move fails and the tenant stays where it was, whole", async () => {
    const count = async () => {
      const server = await startServe(bin, dir, [], onPg());
      try {
        return (await call(server, keys["beta-co"]!, "list_documents", { limit: 100 })).body.result.structuredContent.documents.length as number;
      } finally {
        await server.stop();
      }
    };
    const before = await count();
    const move = Bun.spawn([bin, "tenant", "move", "beta-co", "--isolation", "row", "--json"], { cwd: dir, env: { ...process.env, MCP_MT_ENCRYPTION_MASTER_KEY: masterKey, ...onPg() }, stdout: "pipe", stderr: "pipe" });
    // The move pauses the tenant, then waits out calls in flight (its request timeout, 1 s, plus 1.5 s).
    for (let i = 0; i < 100 && mt(onPg(), "tenant", "show", "beta-co", "--json").json().status !== "moving"; i++) await Bun.sleep(50);
    expect(mt(onPg(), "tenant", "show", "beta-co", "--json").json().status).toBe("moving");
    const second = mt(onPg(), "tenant", "move", "beta-co", "--isolation", "schema");
    expect([second.code === 0, second.stderr.includes("already being moved")]).toEqual([false, true]);
    expect(mt(onPg(), "tenant", "resume", "beta-co").code).toBe(0);
    const [code, err] = await Promise.all([move.exited, new Response(move.stderr).text()]);
    expect(code).not.toBe(0);
    expect(err).toContain("was resumed while it was being moved");
    expect(mt(onPg(), "tenant", "show", "beta-co", "--json").json()).toMatchObject({ status: "active", isolation: "database" });
    expect(await count()).toBe(before);
  }, 60_000);
});
