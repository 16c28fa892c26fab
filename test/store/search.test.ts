/** Bounded search on real libSQL files: query bounds, snippets, symbols, ranking over bounded candidates, the 0003 migration. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Database from "libsql";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { documentGenerator } from "../../bench/text.ts";
import { applyMigrations, nativeTarget } from "../../src/store/migrate.ts";
import { tenantMigrations } from "../../src/store/migrations.gen.ts";
import { DocumentStore, toFtsQuery } from "../../src/store/tenant/documents.ts";
import { parseSearchQuery, searchBounds } from "../../src/store/tenant/search-query.ts";
import { TenantFiles as TenantRegistry } from "../../src/store/libsql/tenant-files.ts";
import { tenantDbPath } from "../../src/tenancy/tenant-id.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

const sqlite = { synchronous: "NORMAL" as const, busyTimeoutMs: 5000 };
let registry: TenantRegistry;
const store = <T>(id: string, fn: (s: DocumentStore) => Promise<T>) => registry.use(id, async (t) => fn(new DocumentStore(t)));
const acme = <T>(fn: (s: DocumentStore) => Promise<T>) => store("acme", fn);
const titles = async (query: string, limit = 20) => (await acme((s) => s.search(query, limit))).map((h) => h.title);

beforeAll(async () => {
  registry = new TenantRegistry({ dataDir: tempDir(), maxOpen: 8, sqlite });
  await registry.create("acme");
  await acme(async (s) => {
    for (const [title, content] of [
      ["Rocket", "Launch day 🚀 went well, everyone cheered."],
      ["Cpp", "Our C++ build is slow; templates everywhere."],
      ["C only", "Plain C code and a build script."],
      ["Hashtag", "Filed under #release by the team."],
      ["Tag word", "The release tag was moved."],
      ["Percent", "Growth of 50% this quarter."],
      ["Thousand", "We shipped 5000 units this quarter."],
      ["Markdown", "Some **bold** claim, a * star and a back\\slash near the word anchor."],
      ["Abacus", "An abacus and an abbey."],
    ]) {
      await s.create({ title: title!, content: content!, tags: [] });
    }
  });
});
afterAll(async () => {
  await registry.closeAll();
  cleanupTempDirs();
});

describe("query bounds", () => {
  test.each([
    ["17 terms", Array.from({ length: 17 }, (_, i) => `w${i}`).join(" "), `query has 17 terms; at most ${searchBounds.maxTerms} are allowed`],
    ["a literal over 64 characters", "+".repeat(65), "a term with symbols can be at most 64 characters"],
    ["a 1-character prefix", "a*", "prefix search needs at least 2 letters or digits before *"],
    ["a 1-character prefix after other words", "launch b*", "prefix search needs at least 2 letters or digits before *"],
    ["only FTS5 syntax", '" ( ) *', "query has no searchable words: use letters or digits"],
    ["only control characters", "\u0000\u0001\u0007", "query has no searchable words: use letters or digits"],
  ])("%s is refused with a message naming the limit", async (_name, query, message) => {
    await expect(acme((s) => s.search(query, 5))).rejects.toThrow(message);
  });

  test("16 terms and 2-character prefixes are allowed", async () => {
    expect(await titles(Array.from({ length: 16 }, () => "abacus").join(" "))).toEqual(["Abacus"]);
    expect(await titles("ab*")).toEqual(["Abacus"]);
    expect(await titles("abb*")).toEqual(["Abacus"]);
  });

  test("the index has 2- and 3-character prefix indexes", async () => {
    const sql = await registry.use("acme", async (t) => (t.native.prepare("SELECT sql FROM sqlite_master WHERE name = 'documents_fts'").get() as { sql: string }).sql);
    expect(sql).toContain("prefix='2 3'");
  });

  test.each([
    ["FTS5 operators", ["NEAR(", "a AND", "title:x", "(x", "x)", '"unbalanced', "-x", "x OR", "x NOT y", "^x", "{a b}:x"]],
    ["quotes and escapes", ['"', '""', "'", "\\", "\\\\\"", "a\"b", "%", "_", "%_%", "\\%"]],
    ["control characters", ["\u0000abacus", "abacus\u0000", "\u001b[31mabacus", "ab\u0007acus"]],
    ["huge inputs", ["a".repeat(100_000), "🚀".repeat(10_000), `${"ab".repeat(5_000)}*`, "%".repeat(50_000)]],
  ])("%s are plain text: results or a clear error, never a crash", async (_name, queries) => {
    for (const query of queries) {
      try {
        const hits = await acme((s) => s.search(query, 5));
        expect(Array.isArray(hits)).toBe(true);
      } catch (error) {
        expect((error as Error).message).toMatch(/^(query has|prefix search needs|a term with symbols)/);
      }
    }
  });

  test("LIKE wildcards in a literal are literal: 50% matches 50%, not 5000", async () => {
    expect(await titles("50%")).toEqual(["Percent"]);
    expect(await titles("%")).toEqual(["Percent"]);
  });
});

describe("symbols and emoji", () => {
  test.each([
    ["an emoji", "🚀", ["Rocket"]],
    ["C++ (not every document with the word C)", "C++", ["Cpp"]],
    ["c++ in another case", "c++", ["Cpp"]],
    ["a hashtag (not the plain word)", "#release", ["Hashtag"]],
    ["an emoji and a word", "🚀 launch", ["Rocket"]],
    ["an emoji and a word that is not there", "🚀 templates", []],
    ["punctuation around a literal", "(C++),", ["Cpp"]],
  ])("%s matches the documents containing it", async (_name, query, expected) => {
    expect((await titles(query as string)).sort()).toEqual((expected as string[]).sort());
  });

  test("a symbols-only query returns newest documents first, with score 0 and the symbol highlighted", async () => {
    await acme((s) => s.create({ title: "Rocket two", content: "Second 🚀 launch", tags: [] }));
    const hits = await acme((s) => s.search("🚀", 10));
    expect(hits.map((h) => h.title)).toEqual(["Rocket two", "Rocket"]);
    expect(hits.map((h) => h.score)).toEqual([0, 0]);
    expect(hits[0]!.snippet).toBe("Second **🚀** launch");
    expect(await acme((s) => s.delete(hits[0]!.id))).toBe(true);
  });
});

/** Reads a snippet as a client would: `\\x` is the character x, `**` opens or closes a highlight. */
function readSnippet(snippet: string): { text: string; marked: string[] } {
  let text = "";
  const marked: string[] = [];
  let open = -1;
  for (let i = 0; i < snippet.length; i++) {
    if (snippet[i] === "\\") text += snippet[++i];
    else if (snippet.startsWith("**", i)) {
      if (open === -1) {
        open = text.length;
      } else {
        marked.push(text.slice(open));
        open = -1;
      }
      i++;
    } else text += snippet[i];
  }
  return { text, marked };
}

describe("snippets", () => {
  test("highlighting cannot collide with markdown in the document", async () => {
    const [hit] = await acme((s) => s.search("bold", 5));
    expect(hit!.snippet).toBe("Some \\*\\***bold**\\*\\* claim, a \\* star and a back\\\\slash near the word anchor.");
    // Read back by the rule in the tool description, the snippet gives the text and exactly the match.
    expect(readSnippet(hit!.snippet)).toEqual({ text: "Some **bold** claim, a * star and a back\\slash near the word anchor.", marked: ["bold"] });
  });

  test("stemmed words and prefixes are highlighted as the index matched them", async () => {
    await acme((s) => s.create({ title: "Runners", content: "She runs daily; running keeps the runner fit.", tags: [] }));
    const [stemmed] = await acme((s) => s.search("running", 5));
    expect(stemmed!.snippet).toBe("She **runs** daily; **running** keeps the runner fit.");
    const [prefixed] = await acme((s) => s.search("runn*", 5));
    expect(prefixed!.snippet).toBe("She runs daily; **running** keeps the **runner** fit.");
  });

  test("a window of 16 words around the first match, cut with …", async () => {
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`);
    words[20] = "needle";
    await acme((s) => s.create({ title: "Long", content: words.join(" "), tags: [] }));
    const [hit] = await acme((s) => s.search("needle", 5));
    expect(hit!.snippet).toBe(`…word17 word18 word19 **needle** ${words.slice(21, 33).join(" ")}…`);
  });

  test("the adversarial document: 64 KiB of one repeated word gets a 16-word snippet", async () => {
    await store("acme", (s) => s.create({ title: "Repeated", content: "zz ".repeat(32 * 1024), tags: [] }));
    const [hit] = await acme((s) => s.search("zz", 1));
    expect(hit!.title).toBe("Repeated");
    expect(hit!.snippet).toBe(`${Array(16).fill("**zz**").join(" ")}…`);
  });

  test("a match beyond the snippet window: the document is found, its snippet is its beginning", async () => {
    const content = `${"filler ".repeat(searchBounds.snippetWindowChars / 7 + 10)}faraway`;
    await acme((s) => s.create({ title: "Deep", content, tags: [] }));
    const [hit] = await acme((s) => s.search("faraway", 5));
    expect(hit!.title).toBe("Deep");
    expect(hit!.snippet).toBe(`${Array(16).fill("filler").join(" ")}…`);
  });

  test("a match only in the title: the snippet is the title's", async () => {
    await acme((s) => s.create({ title: "Quokka sighting", content: "Nothing else to say.", tags: [] }));
    const [hit] = await acme((s) => s.search("quokka", 5));
    expect(hit!.snippet).toBe("**Quokka** sighting");
  });
});

describe("ranking", () => {
  /** The search statement of main before bounded search: every match ranked (ids and scores only). */
  const rankEveryMatch = "SELECT d.id, bm25(documents_fts, 5.0, 1.0) AS score FROM documents_fts JOIN documents d ON d.seq = documents_fts.rowid WHERE documents_fts MATCH ?1 ORDER BY score LIMIT ?2";

  test("rare terms: the same results, in the same order and with the same scores, as ranking every match", async () => {
    await registry.create("corpus");
    const next = documentGenerator(7);
    const rare = await registry.use("corpus", async (t) => {
      const s = new DocumentStore(t);
      for (let i = 0; i < 3_000; i++) await s.create(next());
      // Words of the generated vocabulary with 2 to 200 matches: rare, but enough to rank.
      const vocabulary = t.native.prepare("SELECT content FROM documents WHERE seq % 97 = 0").all() as { content: string }[];
      const words = [...new Set(vocabulary.flatMap((r) => r.content.toLowerCase().match(/\p{L}+/gu) ?? []))];
      const count = t.native.prepare("SELECT count(*) AS n FROM documents_fts WHERE documents_fts MATCH ?");
      return words.filter((w) => {
        const n = (count.get(`"${w}"`) as { n: number }).n;
        return n >= 2 && n <= 200;
      });
    });
    expect(rare.length).toBeGreaterThan(20);
    await registry.use("corpus", async (t) => {
      const s = new DocumentStore(t);
      const old = t.native.prepare(rankEveryMatch);
      for (const word of rare.slice(0, 40)) {
        const before = (old.all(toFtsQuery(word), 10) as { id: string; score: number }[]).map((r) => [r.id, Math.round(-r.score * 1e4) / 1e4 || 0]);
        const after = (await s.search(word, 10)).map((h) => [h.id, h.score]);
        expect(after).toEqual(before);
      }
    });
  });

  test(`common words (${searchBounds.candidates}+ documents): only the newest ${searchBounds.candidates} are ranked; with a rare word they filter (the documented trade-off)`, async () => {
    await registry.create("common");
    await registry.use("common", async (t) => {
      const s = new DocumentStore(t);
      // The oldest document is the best bm25 match of all; the newest is the best among the candidates.
      const oldest = await s.create({ title: "common common common", content: "common", tags: [] });
      const insert = t.native.prepare("INSERT INTO documents (id, title, content, tags, version, bytes, created_at, updated_at) VALUES (?, 'plain', ?, '[]', 1, 10, 0, 0)");
      t.native.transaction(() => {
        for (let i = 0; i < searchBounds.candidates + 50; i++) insert.run(`doc_bulk${i}`, `a long text that mentions common once among many other words number ${i}`);
      })();
      const newest = await s.create({ title: "common common", content: "common", tags: [] });
      const hits = await s.search("common", 5);
      expect(hits[0]!.id).toBe(newest.id);
      expect(hits.map((h) => h.id)).not.toContain(oldest.id);
      // A rarer word of the same old document still finds it: the bound is per query, not per document.
      await s.update(oldest.id, { content: "common zanzibar" });
      expect((await s.search("zanzibar", 5)).map((h) => h.id)).toEqual([oldest.id]);
      // With a rare word, a common word still filters (a zanzibar document without it is not a match).
      const without = await s.create({ title: "zanzibar", content: "zanzibar zanzibar", tags: [] });
      expect((await s.search("zanzibar common", 5)).map((h) => h.id)).toEqual([oldest.id]);
      expect((await s.search("zanzibar", 5)).map((h) => h.id)).toEqual([without.id, oldest.id]);
      // …and a literal term is checked on the ranked matches of a common word.
      const plus = await s.create({ title: "plain", content: "common C++", tags: [] });
      expect((await s.search("common C++", 5)).map((h) => h.id)).toEqual([plus.id]);
    });
  });
});

describe("migration 0003 on an existing tenant file", () => {
  test("documents indexed before it are found (prefixes included), and the triggers keep the new index in sync", async () => {
    const dataDir = tempDir();
    const path = tenantDbPath(dataDir, "legacy");
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.exec("PRAGMA journal_mode = WAL");
    await applyMigrations(nativeTarget(db), tenantMigrations.filter((m) => m.tag < "0003"));
    const insert = db.prepare("INSERT INTO documents (id, title, content, tags, version, bytes, created_at, updated_at) VALUES (?, ?, ?, '[]', 1, 10, 0, 0)");
    insert.run("doc_old1", "Abalone farm", "Shellfish notes");
    insert.run("doc_old2", "Budget", "Quarterly abalone budget");
    db.close();

    const legacy = new TenantRegistry({ dataDir, maxOpen: 2, sqlite });
    expect(await legacy.pending("legacy")).toEqual(["0003_fts_prefix"]);
    await legacy.use("legacy", async (t) => {
      const s = new DocumentStore(t);
      expect((await s.search("ab*", 5)).map((h) => h.id)).toEqual(["doc_old1", "doc_old2"]);
      const added = await s.create({ title: "Abacus", content: "counting", tags: [] });
      expect((await s.search("aba*", 5)).map((h) => h.id).sort()).toEqual(["doc_old1", "doc_old2", added.id].sort());
      await s.update("doc_old2", { content: "Quarterly budget" });
      await s.delete("doc_old1");
      expect((await s.search("abalone", 5)).map((h) => h.id)).toEqual([]);
      const integrity = t.native.prepare("INSERT INTO documents_fts(documents_fts, rank) VALUES ('integrity-check', 1)");
      expect(() => integrity.run()).not.toThrow();
    });
    expect(await legacy.pending("legacy")).toEqual([]);
    await legacy.closeAll();
  });
});

test("parseSearchQuery: words, prefixes and literals", () => {
  expect(parseSearchQuery('C++ "launch" run* #tag 🚀')).toMatchObject({
    fts: '"C++" """launch""" "run"* "#tag"',
    literals: ["C++", "#tag", "🚀"],
  });
});
