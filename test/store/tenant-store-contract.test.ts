/**
 * One contract for every tenant-store backend: libSQL and PostgreSQL row, schema and database give the same
 * answers, the same errors (codes and wording), the same quotas, cursors and tags, and the same search rules.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AppError } from "../../src/errors.ts";
import type { StorageQuota, TenantStorage, TenantStore } from "../../src/store/tenant-store.ts";
import { unlimited } from "../../src/store/tenant/documents.ts";
import { searchBounds } from "../../src/store/tenant/search-query.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";
import { allBackends, failure, type OpenBackend } from "./tenant-store-backends.ts";

afterAll(() => cleanupTempDirs());

/** Reads a snippet as a client would: `\x` is the character x, `**` opens or closes a highlight. */
function readSnippet(snippet: string): { text: string; marked: string[] } {
  let text = "";
  const marked: string[] = [];
  let open = -1;
  for (let i = 0; i < snippet.length; i++) {
    if (snippet[i] === "\\") text += snippet[++i];
    else if (snippet.startsWith("**", i)) {
      if (open === -1) open = text.length;
      else {
        marked.push(text.slice(open));
        open = -1;
      }
      i++;
    } else text += snippet[i];
  }
  return { text, marked };
}

const corpus: [string, string][] = [
  ["Rocket", "Launch day 🚀 went well, everyone cheered."],
  ["Cpp", "Our C++ build is slow; templates everywhere."],
  ["C only", "Plain C code and a build script."],
  ["Hashtag", "Filed under #release by the team."],
  ["Tag word", "The release tag was moved."],
  ["Percent", "Growth of 50% this quarter."],
  ["Thousand", "We shipped 5000 units this quarter."],
  ["Markdown", "Some **bold** claim, a * star and a back\\slash near the word anchor."],
  ["Abacus", "An abacus and an abbey."],
  ["Zebra migration", "Animals crossing the river"],
  ["River notes", "The zebra herd moved north, running fast"],
  ["Injection", "Robert'); DROP TABLE documents; -- said the note"],
  ["Café", "Crème brûlée at the café"],
  ["Arrows", "Use a <-> b for phrases"],
];

for (const backend of allBackends) {
  describe(backend.name, () => {
    let b: OpenBackend;
    let storage: TenantStorage;
    const store = (id: string, quota: StorageQuota = unlimited, signal?: AbortSignal): TenantStore => storage.store(id, { quota, signal });
    const acme = () => store("acme");
    const titles = async (query: string, limit = 20) => (await acme().search(query, limit)).map((h) => h.title);

    beforeAll(async () => {
      b = await backend.open();
      storage = b.storage;
      for (const id of ["acme", "other", "small", "bytes"]) await storage.create(id);
      for (const [title, content] of corpus) await acme().create({ title, content, tags: ["corpus"] });
      await store("other").create({ title: "Zebra secret of other", content: "other tenant's zebra 🚀 C++ #release", tags: ["corpus"] });
    }, 60_000);
    afterAll(async () => {
      await b.close();
    });

    test("tenants exist once; a second create is refused", async () => {
      expect(await storage.exists("acme")).toBe(true);
      expect(await storage.exists("ghost")).toBe(false);
      const error = await failure(storage.create("acme"));
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe("already_exists");
      expect(await storage.pending("acme")).toEqual([]);
    });

    test("a tenant without storage is not found", async () => {
      const error = (await failure(store("ghost").get("doc_x"))) as AppError;
      expect({ code: error.code, message: error.message }).toEqual({ code: "not_found", message: "tenant ghost has no database" });
    });

    test("create, get, update with versions, delete", async () => {
      const s = acme();
      const doc = await s.create({ title: "Quarterly plan", content: "Ship the widget", tags: ["plans", "plans", "q3"] });
      expect(doc.id).toMatch(/^doc_[0-9A-Za-z]{22}$/);
      expect(doc).toMatchObject({ version: 1, tags: ["plans", "q3"], content: "Ship the widget" });
      expect(doc.created_at).toBe(doc.updated_at);
      expect(await s.get(doc.id)).toEqual(doc);
      const v2 = await s.update(doc.id, { content: "Ship the gadget", expectedVersion: 1 });
      expect(v2).toMatchObject({ version: 2, title: "Quarterly plan", content: "Ship the gadget", tags: ["plans", "q3"] });
      const conflict = (await failure(s.update(doc.id, { title: "x", expectedVersion: 1 }))) as AppError;
      expect({ code: conflict.code, message: conflict.message, details: conflict.details }).toEqual({
        code: "conflict",
        message: `document ${doc.id} is at version 2, not 1: get it again, reapply your change, and pass expected_version 2`,
        details: { current_version: 2 },
      });
      expect((await s.get(doc.id))!.title).toBe("Quarterly plan");
      const v3 = await s.update(doc.id, { tags: ["q4"] });
      expect(v3.tags).toEqual(["q4"]);
      expect((await s.list({ limit: 5, tag: "q4" })).documents.map((d) => d.id)).toEqual([doc.id]);
      expect((await s.list({ limit: 5, tag: "q3" })).documents).toEqual([]);
      expect(await s.delete(doc.id)).toBe(true);
      expect(await s.delete(doc.id)).toBe(false);
      expect(await s.get(doc.id)).toBeNull();
      const missing = (await failure(s.update(doc.id, { title: "x" }))) as AppError;
      expect({ code: missing.code, message: missing.message }).toEqual({ code: "not_found", message: `document ${doc.id} not found` });
    });

    test("concurrent updates with the same expected version: exactly one wins", async () => {
      const s = acme();
      const doc = await s.create({ title: "race", content: "start", tags: [] });
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => s.update(doc.id, { content: `writer ${i}`, expectedVersion: 1 })));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      expect((await s.get(doc.id))!.version).toBe(2);
      await s.delete(doc.id);
    });

    test("list is newest first with opaque cursors and a tag filter; a bad cursor is refused", async () => {
      await storage.create("pages");
      const s = store("pages");
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await s.create({ title: `page ${i}`, content: "x", tags: i % 2 ? ["odd"] : ["even"] })).id);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await s.list({ limit: 3, cursor });
        expect(page.documents.length).toBeLessThanOrEqual(3);
        seen.push(...page.documents.map((d) => d.id));
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual([...ids].reverse());
      const odd = await s.list({ limit: 2, tag: "odd" });
      expect(odd.documents.map((d) => d.id)).toEqual([ids[5]!, ids[3]!]);
      const rest = await s.list({ limit: 2, tag: "odd", cursor: odd.next_cursor! });
      expect(rest).toEqual({ documents: [expect.objectContaining({ id: ids[1]!, title: "page 1", tags: ["odd"], version: 1, bytes: 10 })], next_cursor: null });
      for (const bad of ["bm90LWEtY3Vyc29y", "!!", "", "YzE6LTE"]) {
        if (bad === "") continue;
        const error = (await failure(s.list({ limit: 3, cursor: bad }))) as AppError;
        expect({ code: error.code, message: error.message }).toEqual({ code: "invalid_input", message: "cursor is not one this server returned; pass next_cursor from the previous page unchanged" });
      }
    });

    test("the document quota is exact under concurrent writers and worded the same; deleting frees room", async () => {
      const quota = { maxDocuments: 5, maxBytes: 1_000_000 };
      const s = store("small", quota);
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => s.create({ title: `d${i}`, content: "x", tags: ["t"] })));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(5);
      const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(refused.reason).toBeInstanceOf(AppError);
      expect(refused.reason.code).toBe("quota_exceeded");
      expect(refused.reason.message).toBe("Storage quota reached: 5 of 5 documents stored. Delete documents or ask the operator for a larger plan.");
      expect(refused.reason.details).toEqual({ quota: "max_documents", documents: 5, bytes: 20, max_documents: 5, max_storage_bytes: 1_000_000 });
      expect(await s.storage()).toEqual({ documents: 5, bytes: 20 });
      const first = (results.find((r) => r.status === "fulfilled") as PromiseFulfilledResult<{ id: string }>).value;
      expect(await s.delete(first.id)).toBe(true);
      expect(await s.storage()).toEqual({ documents: 4, bytes: 16 });
      expect((await s.create({ title: "room again", content: "x", tags: [] })).version).toBe(1);
    });

    test("the byte quota covers creates and growing updates; a refused update changes nothing", async () => {
      const s = store("bytes", { maxDocuments: 100, maxBytes: 100 });
      const doc = await s.create({ title: "t", content: "x".repeat(50), tags: ["a"] });
      const create = (await failure(s.create({ title: "t", content: "y".repeat(60), tags: [] }))) as AppError;
      expect(create.message).toBe("Storage quota reached: 52 of 100 bytes stored and this write adds 61. Delete documents or ask the operator for a larger plan.");
      const update = (await failure(s.update(doc.id, { content: "z".repeat(120), tags: ["b"] }))) as AppError;
      expect(update.code).toBe("quota_exceeded");
      expect(await s.get(doc.id)).toMatchObject({ version: 1, tags: ["a"], content: "x".repeat(50) });
      expect((await s.list({ limit: 5, tag: "a" })).documents).toHaveLength(1);
      expect((await s.update(doc.id, { content: "short" })).version).toBe(2);
      expect(await s.storage()).toEqual({ documents: 1, bytes: 7 });
    });

    test("search ranks title matches first, stems, finds prefixes, and highlights", async () => {
      const hits = await acme().search("zebra", 10);
      expect(hits.map((h) => h.title)).toEqual(["Zebra migration", "River notes"]);
      expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
      expect(Object.keys(hits[0]!).sort()).toEqual(["created_at", "id", "score", "snippet", "tags", "title", "updated_at", "version"]);
      expect(hits[0]!.snippet).toBe("**Zebra** migration");
      expect(hits[1]!.snippet).toBe("The **zebra** herd moved north, running fast");
      expect(await titles("runs")).toEqual(["River notes"]);
      expect(await titles("zeb*")).toEqual(["Zebra migration", "River notes"]);
      expect(await titles("ab*")).toEqual(["Abacus"]);
      expect(await titles("abb*")).toEqual(["Abacus"]);
      expect(await titles('"zebra')).toEqual(["Zebra migration", "River notes"]);
      expect(await titles("herd zebra")).toEqual(["River notes"]);
      expect(await titles("cafe")).toEqual(["Café"]);
      expect(await titles("CRÈME brulee")).toEqual(["Café"]);
      expect(await titles("the")).toContain("River notes");
      expect(await titles("zebra", 1)).toEqual(["Zebra migration"]);
      expect(await titles("nonexistentword")).toEqual([]);
    });

    test.each([
      ["17 terms", Array.from({ length: 17 }, (_, i) => `w${i}`).join(" "), `query has 17 terms; at most ${searchBounds.maxTerms} are allowed: drop the least specific words`],
      ["a literal over 64 characters", "+".repeat(65), "a term with symbols can be at most 64 characters"],
      ["a 1-character prefix", "a*", "prefix search needs at least 2 letters or digits before *"],
      ["only syntax", '" ( ) *', "query has no searchable words: use letters or digits"],
      ["only control characters", "\u0000\u0001\u0007", "query has no searchable words: use letters or digits"],
    ])("search refuses %s with the same message", async (_name, query, message) => {
      const error = (await failure(acme().search(query, 5))) as AppError;
      expect(error.code).toBe("invalid_input");
      expect(error.message).toStartWith(message);
    });

    test("16 terms are allowed", async () => {
      expect(await titles(Array.from({ length: 16 }, () => "abacus").join(" "))).toEqual(["Abacus"]);
    });

    test.each([
      ["an emoji", "🚀", ["Rocket"]],
      ["C++ (not every document with the word C)", "C++", ["Cpp"]],
      ["c++ in another case", "c++", ["Cpp"]],
      ["a hashtag (not the plain word)", "#release", ["Hashtag"]],
      ["an emoji and a word", "🚀 launch", ["Rocket"]],
      ["an emoji and a word that is not there", "🚀 templates", []],
      ["punctuation around a literal", "(C++),", ["Cpp"]],
      ["a percent sign is literal (not a LIKE wildcard)", "50%", ["Percent"]],
      ["a lone percent sign", "%", ["Percent"]],
      ["SQL metacharacters", "Robert'); DROP TABLE documents; --", ["Injection"]],
      ["a quote inside a word", "robert'", ["Injection"]],
      ["tsquery syntax", "zebra & !herd | (x <-> yy):*", []],
      ["a symbol with a dash, on a document holding it", "<->", ["Arrows"]],
      ["backslashes", "\\zebra\\", ["Zebra migration", "River notes"]],
    ])("search for %s matches as written", async (_name, query, expected) => {
      expect((await titles(query as string)).sort()).toEqual((expected as string[]).sort());
    });

    test.each([
      ["FTS5 and tsquery operators", ["NEAR(", "a AND", "title:x", "(x", "x)", '"unbalanced', "-x", "x OR", "^x", "{a b}:x", "a:*", "!a", "a <-> b", "a & | b"]],
      ["quotes and escapes", ['"', '""', "'", "''", "\\", "\\\\\"", "a\"b", "%", "_", "%_%", "\\%", "$1", "$$"]],
      ["control characters", ["\u0000abacus", "abacus\u0000", "\u001b[31mabacus", "ab\u0007acus"]],
      ["huge inputs", ["a".repeat(100_000), "🚀".repeat(10_000), `${"ab".repeat(5_000)}*`, "%".repeat(50_000)]],
    ])("%s are plain text: results or a clear error, never a crash", async (_name, queries) => {
      for (const query of queries) {
        const result = await acme().search(query, 5).then((hits) => hits, (error: unknown) => error);
        if (Array.isArray(result)) continue;
        expect(result).toBeInstanceOf(AppError);
        expect((result as AppError).message).toMatch(/^(query has|prefix search needs|a term with symbols)/);
      }
    });

    test("a symbols-only query: newest first, score 0, the symbol highlighted", async () => {
      const s = acme();
      const doc = await s.create({ title: "Rocket two", content: "Second 🚀 launch", tags: [] });
      const hits = await s.search("🚀", 10);
      expect(hits.map((h) => h.title)).toEqual(["Rocket two", "Rocket"]);
      expect(hits.map((h) => h.score)).toEqual([0, 0]);
      expect(hits[0]!.snippet).toBe("Second **🚀** launch");
      expect(await s.delete(doc.id)).toBe(true);
    });

    test("snippets cannot collide with markdown in the document", async () => {
      const [hit] = await acme().search("bold", 5);
      expect(hit!.snippet).toBe("Some \\*\\***bold**\\*\\* claim, a \\* star and a back\\\\slash near the word anchor.");
      expect(readSnippet(hit!.snippet)).toEqual({ text: "Some **bold** claim, a * star and a back\\slash near the word anchor.", marked: ["bold"] });
    });

    test("a long document's snippet is cut around the match from a bounded window", async () => {
      const s = acme();
      const filler = Array.from({ length: 400 }, (_, i) => `filler${i}`).join(" ");
      const doc = await s.create({ title: "Long", content: `${filler} needle here ${filler}`, tags: [] });
      const [hit] = await s.search("needle", 5);
      expect(hit!.title).toBe("Long");
      expect(hit!.snippet).toStartWith("…");
      expect(hit!.snippet).toEndWith("…");
      expect(hit!.snippet).toContain("**needle**");
      expect(hit!.snippet.length).toBeLessThan(300);
      await s.delete(doc.id);
    });

    test("another tenant's ids, cursors and words are not found", async () => {
      const theirs = await store("other").create({ title: "private", content: "their words", tags: ["secret"] });
      const s = acme();
      expect(await s.get(theirs.id)).toBeNull();
      const update = (await failure(s.update(theirs.id, { title: "mine now" }))) as AppError;
      expect(update.code).toBe("not_found");
      expect(await s.delete(theirs.id)).toBe(false);
      expect(await store("other").get(theirs.id)).toMatchObject({ title: "private", version: 1 });
      expect((await s.list({ limit: 50, tag: "secret" })).documents).toEqual([]);
      expect(await titles("zebra")).not.toContain("Zebra secret of other");
      expect(await titles("their")).toEqual([]);
      // A cursor taken from the other tenant pages through this tenant's own documents only.
      await store("other").create({ title: "another", content: "x", tags: [] });
      const cursor = (await store("other").list({ limit: 1 })).next_cursor!;
      const page = await s.list({ limit: 50, cursor });
      const mine = new Set((await s.list({ limit: 100 })).documents.map((d) => d.id));
      for (const d of page.documents) expect(mine.has(d.id)).toBe(true);
    });

    test("a request past its deadline gets the timeout error and runs nothing", async () => {
      const deadline = new AppError("timeout", "the request took longer than 50 ms");
      const s = store("acme", unlimited, AbortSignal.abort(deadline));
      const before = await acme().storage();
      expect(await failure(s.create({ title: "late", content: "x", tags: [] }))).toBe(deadline);
      expect(await acme().storage()).toEqual(before);
    });

    test("remove deletes the tenant's storage", async () => {
      await storage.create("gone");
      await store("gone").create({ title: "bye", content: "x", tags: [] });
      await storage.remove("gone");
      expect(await storage.exists("gone")).toBe(false);
      const error = (await failure(store("gone").get("doc_x"))) as AppError;
      expect(error.code).toBe("not_found");
      await storage.create("gone");
      expect(await store("gone").storage()).toEqual({ documents: 0, bytes: 0 });
    });
  });
}
