import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DocumentStore, toFtsQuery } from "../../src/store/tenant/documents.ts";
import { TenantFiles as TenantRegistry } from "../../src/store/libsql/tenant-files.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

let registry: TenantRegistry;
const store = <T>(fn: (s: DocumentStore) => Promise<T>) => registry.use("acme", async (t) => fn(new DocumentStore(t)));

beforeAll(async () => {
  registry = new TenantRegistry({ dataDir: tempDir(), maxOpen: 4, sqlite: { synchronous: "NORMAL", busyTimeoutMs: 5000 } });
  await registry.create("acme");
});
afterAll(async () => {
  await registry.closeAll();
  cleanupTempDirs();
});

describe("DocumentStore", () => {
  test("create, get, update with versions, delete", async () => {
    const doc = await store((s) => s.create({ title: "Quarterly plan", content: "Ship the widget", tags: ["plans", "plans", "q3"] }));
    expect(doc.id).toMatch(/^doc_[0-9A-Za-z]{22}$/);
    expect(doc.version).toBe(1);
    expect(doc.tags).toEqual(["plans", "q3"]);
    expect(await store((s) => s.get(doc.id))).toEqual(doc);
    const v2 = await store((s) => s.update(doc.id, { content: "Ship the gadget", expectedVersion: 1 }));
    expect(v2.version).toBe(2);
    expect(v2.title).toBe("Quarterly plan");
    await expect(store((s) => s.update(doc.id, { title: "x", expectedVersion: 1 }))).rejects.toThrow("is at version 2, not 1");
    expect((await store((s) => s.get(doc.id)))!.title).toBe("Quarterly plan");
    expect(await store((s) => s.delete(doc.id))).toBe(true);
    expect(await store((s) => s.delete(doc.id))).toBe(false);
    expect(await store((s) => s.get(doc.id))).toBeNull();
    await expect(store((s) => s.update(doc.id, { title: "x" }))).rejects.toThrow("not found");
  });

  test("concurrent updates with the same expected version: exactly one wins", async () => {
    const doc = await store((s) => s.create({ title: "race", content: "start", tags: [] }));
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store((s) => s.update(doc.id, { content: `writer ${i}`, expectedVersion: 1 }))));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect((await store((s) => s.get(doc.id)))!.version).toBe(2);
  });

  test("list is newest first with opaque cursors and a tag filter", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await store((s) => s.create({ title: `page ${i}`, content: "x", tags: i % 2 ? ["odd"] : ["even"] }))).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store((s) => s.list({ limit: 3, cursor, tag: undefined }));
      seen.push(...page.documents.map((d) => d.id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen.slice(0, 7)).toEqual([...ids].reverse());
    const odd = await store((s) => s.list({ limit: 10, tag: "odd" }));
    expect(odd.documents.map((d) => d.id)).toEqual([ids[5]!, ids[3]!, ids[1]!]);
    expect(odd.next_cursor).toBeNull();
    await expect(store((s) => s.list({ limit: 3, cursor: "bm90LWEtY3Vyc29y" }))).rejects.toThrow("cursor is not one this server returned");
  });

  test("search ranks title matches first, highlights, and treats any text as plain words", async () => {
    await store((s) => s.create({ title: "Zebra migration", content: "Animals crossing the river", tags: [] }));
    await store((s) => s.create({ title: "River notes", content: "The zebra herd moved north", tags: [] }));
    const hits = await store((s) => s.search("zebra", 10));
    expect(hits.map((h) => h.title)).toEqual(["Zebra migration", "River notes"]);
    expect(hits[1]!.snippet).toContain("**zebra**");
    for (const nasty of ['"', "NEAR(", "zebra AND", "title:zebra", "-zebra", "zebra)", "(", "*", "zeb*"]) {
      await store((s) => s.search(nasty, 5)).catch((error) => expect((error as Error).message).toContain("no searchable words"));
    }
    expect((await store((s) => s.search("zeb*", 5))).length).toBe(2);
    expect((await store((s) => s.search('"zebra', 5))).length).toBe(2);
  });

  test("toFtsQuery quotes every term", () => {
    expect(toFtsQuery('a "b" NEAR(c')).toBe('"a" """b""" "NEAR(c"');
    expect(toFtsQuery("pre*")).toBe('"pre"*');
    expect(toFtsQuery('" ( ) *')).toBeNull();
  });
});

describe("storage quota", () => {
  test("concurrent writers cannot overshoot the document quota; deleting frees room", async () => {
    const reg = new TenantRegistry({ dataDir: tempDir(), maxOpen: 2, sqlite: { synchronous: "NORMAL", busyTimeoutMs: 5000 } });
    await reg.create("small");
    await reg.use("small", async (t) => {
      const store = new DocumentStore(t, Date.now, { maxDocuments: 5, maxBytes: 1_000_000 });
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.create({ title: `d${i}`, content: "x", tags: ["t"] })));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(5);
      const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(refused.reason.message).toBe("Storage quota reached: 5 of 5 documents stored. Delete documents or ask the operator for a larger plan.");
      expect(await store.storage()).toMatchObject({ documents: 5 });
      const first = (results[0] as PromiseFulfilledResult<{ id: string }>).value;
      expect(await store.delete(first.id)).toBe(true);
      expect((await store.create({ title: "room again", content: "x", tags: [] })).version).toBe(1);
    });
    await reg.closeAll();
  });

  test("the byte quota covers creates and growing updates, and a refused update changes nothing", async () => {
    const reg = new TenantRegistry({ dataDir: tempDir(), maxOpen: 2, sqlite: { synchronous: "NORMAL", busyTimeoutMs: 5000 } });
    await reg.create("bytes");
    await reg.use("bytes", async (t) => {
      const store = new DocumentStore(t, Date.now, { maxDocuments: 100, maxBytes: 100 });
      const doc = await store.create({ title: "t", content: "x".repeat(50), tags: ["a"] });
      await expect(store.create({ title: "t", content: "y".repeat(60), tags: [] })).rejects.toThrow("Storage quota reached: 52 of 100 bytes stored and this write adds 61");
      await expect(store.update(doc.id, { content: "z".repeat(120), tags: ["b"] })).rejects.toThrow("Storage quota reached");
      const after = await store.get(doc.id);
      expect(after).toMatchObject({ version: 1, tags: ["a"], content: "x".repeat(50) });
      expect((await store.list({ limit: 5, tag: "a" })).documents).toHaveLength(1);
      expect((await store.update(doc.id, { content: "short" })).version).toBe(2);
      expect(await store.storage()).toEqual({ documents: 1, bytes: 7 });
    });
    await reg.closeAll();
  });
});
