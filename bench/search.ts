/**
 * The search benchmark: DocumentStore.search at c=1 on a libSQL file of generated documents, before and after
 * bounded search, in one run on one file:
 *   1. a tenant file migrated only up to 0002 (the schema before bounded search), seeded with bench/seed.ts;
 *   2. "before": today's query on main (every match ranked by bm25, FTS5 snippet()), copied below verbatim;
 *   3. the pending migrations applied (0003 rebuilds the index with prefix indexes; its time is reported);
 *   4. "after": DocumentStore.search, as the server runs it;
 *   5. the same for a second tenant holding the adversarial document (64 KiB of one repeated word).
 * Writes a section of bench/RESULTS.md between the `search-bench` markers (the rest of the file is kept).
 *
 *   bun bench/search.ts [--docs 100000] [--iterations 200] [--before-iterations 30] [--cache FILE] [--no-write]
 */
import Database from "libsql";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { applyMigrations, nativeTarget } from "../src/store/migrate.ts";
import { tenantMigrations } from "../src/store/migrations.gen.ts";
import { DocumentStore, toFtsQuery } from "../src/store/tenant/documents.ts";
import { TenantFiles } from "../src/store/libsql/tenant-files.ts";
import { tenantDbPath } from "../src/tenancy/tenant-id.ts";
import { seed, type SeedManifest } from "./seed.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    docs: { type: "string", default: "100000" },
    iterations: { type: "string", default: "200" },
    "before-iterations": { type: "string", default: "30" },
    "no-write": { type: "boolean", default: false },
    cache: { type: "string" },
  },
});
const docCount = Number(values.docs);
const iterations = Number(values.iterations);
const beforeIterations = Number(values["before-iterations"]);
const say = (line: string) => process.stderr.write(`${line}\n`);

/** The search statement of main before bounded search (src/store/tenant/documents.ts at 7b1e1e3). */
const beforeSql = `WITH ranked AS (
             SELECT rowid AS seq, bm25(documents_fts, 5.0, 1.0) AS score FROM documents_fts
             WHERE documents_fts MATCH ?1 ORDER BY score LIMIT ?2)
           SELECT d.id, d.title, d.tags, d.version, d.created_at, d.updated_at, ranked.score,
                  snippet(documents_fts, -1, '**', '**', '…', 16) AS snippet
           FROM ranked JOIN documents_fts ON documents_fts.rowid = ranked.seq JOIN documents d ON d.seq = ranked.seq
           WHERE documents_fts MATCH ?1 ORDER BY ranked.score`;

const sqlite = { synchronous: "NORMAL" as const, busyTimeoutMs: 5000 };
const beforeSchema = tenantMigrations.filter((m) => m.tag <= "0002_stats");

/** A tenant file with the schema as it was before bounded search. */
async function oldTenantFile(dataDir: string, id: string): Promise<string> {
  const path = tenantDbPath(dataDir, id);
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.exec("PRAGMA journal_mode = WAL");
  await applyMigrations(nativeTarget(db), beforeSchema);
  db.close();
  return path;
}

/** Wall-clock and CPU time percentiles (ms). CPU time is what one search costs; wall time adds waiting for a core. */
type Stats = { p50: number; p99: number; cpu50: number; cpu99: number; n: number; hits: number };

const percentile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)]!;

async function measure(n: number, run: () => number | Promise<number>): Promise<Stats> {
  const wall: number[] = [];
  const cpu: number[] = [];
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = Bun.nanoseconds();
    hits = await run();
    wall.push((Bun.nanoseconds() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3);
  }
  return { p50: percentile(wall, 0.5), p99: percentile(wall, 0.99), cpu50: percentile(cpu, 0.5), cpu99: percentile(cpu, 0.99), n, hits };
}

const dir = mkdtempSync(join(tmpdir(), "mcp-mt-search-bench-"));
const started = performance.now();
try {
  // 1. The corpus, in a file with the old schema.
  // --cache keeps a copy of the seeded (not yet migrated) file for the next run: seeding is most of the wall time.
  const cached = values.cache && existsSync(values.cache) && existsSync(`${values.cache}.json`);
  const corpusPath = cached ? tenantDbPath(dir, "corpus") : await oldTenantFile(dir, "corpus");
  let manifest: SeedManifest;
  if (cached) {
    mkdirSync(dirname(corpusPath), { recursive: true });
    copyFileSync(values.cache!, corpusPath);
    manifest = JSON.parse(readFileSync(`${values.cache}.json`, "utf8")) as SeedManifest;
  } else {
    manifest = await seed(corpusPath, { count: docCount, log: say });
    if (values.cache) {
      copyFileSync(corpusPath, values.cache);
      await Bun.write(`${values.cache}.json`, JSON.stringify(manifest));
    }
  }
  const attackPath = await oldTenantFile(dir, "attack");
  {
    const db = new Database(attackPath);
    const insert = db.prepare("INSERT INTO documents (id, title, content, tags, version, bytes, created_at, updated_at) VALUES (?, ?, ?, '[]', 1, ?, ?, ?)");
    const content = "a ".repeat(32 * 1024);
    insert.run("doc_attack", "Repeated word", content, content.length + 13, Date.now(), Date.now());
    for (let i = 0; i < 20; i++) insert.run(`doc_other${i}`, `Note ${i}`, `an ordinary note number ${i} about a plan`, 40, Date.now(), Date.now());
    db.close();
  }

  // The queries: words are chosen by their frequency in this corpus.
  const counter = new Database(corpusPath);
  const countOf = (fts: string) => (counter.prepare("SELECT count(*) AS n FROM documents_fts WHERE documents_fts MATCH ?").get(fts) as { n: number }).n;
  const sample = counter.prepare("SELECT content FROM documents WHERE seq = ?").get(Math.ceil(docCount / 2)) as { content: string };
  // The rare word: the least frequent word of 20 sampled documents (the generated vocabulary has no hapaxes).
  let rare = "";
  let rareCount = Number.POSITIVE_INFINITY;
  for (let seq = 1; seq <= docCount; seq += Math.ceil(docCount / 20)) {
    const row = counter.prepare("SELECT content FROM documents WHERE seq = ?").get(seq) as { content: string } | undefined;
    for (const w of new Set(row?.content.toLowerCase().match(/\p{L}+/gu) ?? [])) {
      const n = countOf(`"${w}"`);
      if (n > 0 && n < rareCount) [rare, rareCount] = [w, n];
    }
  }
  if (!rare) throw new Error(`${corpusPath} has no documents`);
  const tenTerms = [...new Set(sample.content.toLowerCase().match(/\p{L}+/gu) ?? [])].slice(0, 10).join(" ");
  counter.close();
  const queries = [
    { name: "rare word", tenant: "corpus", query: rare },
    { name: "1 % word (bench/run.ts)", tenant: "corpus", query: manifest.queries[0]!.word },
    { name: "common word", tenant: "corpus", query: "the" },
    { name: "2-character prefix", tenant: "corpus", query: "re*" },
    { name: "3-character prefix", tenant: "corpus", query: "pro*" },
    { name: "10-term query", tenant: "corpus", query: tenTerms },
    { name: "adversarial: 64 KiB of `a a a …`", tenant: "attack", query: "a" },
    { name: "worst case: 16 two-letter prefixes (no goal)", tenant: "corpus", query: "re* co* pr* de* in* st* ma* pa* ca* se* tr* di* pe* ac* su* mo*", slow: true },
  ];
  const matchCounts = new Map<string, number>();
  {
    const db = new Database(corpusPath);
    for (const q of queries.filter((q) => q.tenant === "corpus")) matchCounts.set(q.query, (db.prepare("SELECT count(*) AS n FROM documents_fts WHERE documents_fts MATCH ?").get(toFtsQuery(q.query)) as { n: number }).n);
    db.close();
  }

  // 2. Before: main's statement on the old schema.
  const before = new Map<string, Stats>();
  for (const q of queries) {
    const db = new Database(q.tenant === "corpus" ? corpusPath : attackPath);
    const statement = db.prepare(beforeSql);
    const fts = toFtsQuery(q.query)!;
    const n = q.tenant === "attack" || "slow" in q ? 1 : beforeIterations;
    statement.all(fts, 20);
    before.set(q.name, await measure(n, () => statement.all(fts, 20).length));
    say(`before  ${q.name}: ${JSON.stringify(before.get(q.name))}`);
    db.close();
  }

  // 3. The migration, as the server applies it when it opens an older file.
  const registry = new TenantFiles({ dataDir: dir, maxOpen: 4, sqlite });
  const t0 = performance.now();
  await registry.use("corpus", async () => undefined);
  const migrationMs = performance.now() - t0;
  say(`migration 0003 on ${docCount} documents: ${(migrationMs / 1000).toFixed(1)} s`);

  // 4 and 5. After: DocumentStore.search, synchronous on the native connection as the server runs it.
  const after = new Map<string, Stats>();
  for (const q of queries) {
    await registry.use(q.tenant, async (t) => {
      const store = new DocumentStore(t);
      // search() is async only in signature: its work is synchronous, so awaiting adds one microtask.
      const run = async () => (await store.search(q.query, 20)).length;
      await run();
      after.set(q.name, await measure(iterations, run));
    });
    say(`after   ${q.name}: ${JSON.stringify(after.get(q.name))}`);
  }
  await registry.closeAll();

  // The report.
  const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const rows = queries.map((q) => {
    const b = before.get(q.name)!;
    const a = after.get(q.name)!;
    const goal = q.tenant === "attack" ? 50 : "slow" in q ? Number.POSITIVE_INFINITY : 20;
    const matches = q.tenant === "attack" ? "1 (32,768 times)" : matchCounts.get(q.query)!.toLocaleString("en-US");
    const verdict = (v: number) => (goal === Number.POSITIVE_INFINITY ? "—" : `${v <= goal ? "✓" : "✗"} ≤ ${goal}`);
    return `| ${q.name} | \`${q.query}\` | ${matches} | ${ms(b.p50)} / ${ms(b.p99)}${b.n === 1 ? " (1 run)" : ""} | ${ms(b.cpu50)} / ${ms(b.cpu99)} | ${ms(a.p50)} / ${ms(a.p99)} | ${ms(a.cpu50)} / ${ms(a.cpu99)} | ${verdict(a.p99)} (CPU ${verdict(a.cpu99)}) |`;
  });
  const section = [
    "<!-- search-bench:begin (written by bun bench/search.ts) -->",
    "## Search: bounded by construction (issue 9, item 2)",
    "",
    `Generated by \`bun bench/search.ts --docs ${docCount}\` on ${new Date().toISOString()} (wall time ${Math.round((performance.now() - started) / 1000)} s), same machine.`,
    `DocumentStore.search at c=1 (no HTTP), limit 20, on one libSQL file of ${docCount.toLocaleString("en-US")} generated documents (bench/seed.ts).`,
    `"Before" is main's statement (every match ranked, FTS5 snippet()) on the schema before migration 0003, ${beforeIterations} runs per query;`,
    `"after" is this branch's search after the migration, ${iterations} runs per query. Times in ms (p50 / p99): wall clock, and the`,
    `process's CPU time per search (what the search costs; wall time adds waiting for a core: load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs at the end of this run).`,
    "",
    "| query | text | documents matching | before wall p50 / p99 | before CPU p50 / p99 | after wall p50 / p99 | after CPU p50 / p99 | goal (p99 ms) |",
    "|---|---|--:|--:|--:|--:|--:|---|",
    ...rows,
    "",
    `Migration 0003 (rebuilding the index with 2- and 3-character prefix indexes) took ${(migrationMs / 1000).toFixed(1)} s on the ${docCount.toLocaleString("en-US")}-document file, once, when the server first opens it.`,
    "<!-- search-bench:end -->",
  ].join("\n");
  console.log(section);
  if (!values["no-write"]) {
    const path = join(import.meta.dir, "RESULTS.md");
    const current = readFileSync(path, "utf8");
    const marked = /<!-- search-bench:begin[\s\S]*?<!-- search-bench:end -->/;
    await Bun.write(path, marked.test(current) ? current.replace(marked, section) : `${current.trimEnd()}\n\n${section}\n`);
    say("wrote bench/RESULTS.md");
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
