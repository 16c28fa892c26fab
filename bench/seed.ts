/**
 * Seeds a tenant database with generated documents for the search benchmark, writing rows DIRECTLY into
 * data/tenants/<id>.db while the server is NOT running (going through MCP would take minutes).
 *
 * Fidelity: the file must already exist with the server's migrations applied (`mcp-mt tenant add` creates it).
 * Rows go in through the same engine the server uses (@libsql/client on a local file) with the same statements
 * the server issues for create_document (src/store/tenant/documents.ts, printed by drizzle's toSQL()):
 *   insert into "documents" ("seq", "id", ..., "updated_at") values (null, ?, ?, ?, ?, ?, ?, ?, ?)
 *   INSERT INTO document_tags (tag, doc_seq) SELECT ?, seq FROM documents WHERE id = ?
 * and the FTS5 index is maintained by the schema's own AFTER INSERT trigger (drizzle/tenant/0001_fts.sql).
 * Ids come from the server's newDocumentId(), `bytes` is computed as the server does. The only difference:
 * rows are committed 2,000 per transaction instead of one per document.
 *
 * Then it picks search words of moderate frequency (0.5%-2% of documents) by counting FTS matches, and samples
 * ids for get_document. Usage: bun bench/seed.ts <tenant.db> [--count 100000] [--out manifest.json]
 */
import { createClient, type InStatement } from "@libsql/client";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { byteLength, newDocumentId } from "../src/store/tenant/documents.ts";
import { documentGenerator, realWords } from "./text.ts";

export type SeedManifest = {
  documents: number;
  seconds: number;
  /** Search words and how many documents each matches. */
  queries: { word: string; matches: number }[];
  /** A random sample of existing document ids (get_document targets). */
  ids: string[];
  dbBytes: number;
};

const insertDocument = `insert into "documents" ("seq", "id", "title", "content", "tags", "version", "bytes", "created_at", "updated_at") values (null, ?, ?, ?, ?, ?, ?, ?, ?)`;
const insertTag = "INSERT INTO document_tags (tag, doc_seq) SELECT ?, seq FROM documents WHERE id = ?";

export async function seed(dbPath: string, options: { count: number; seed?: number; chunk?: number; log?: (line: string) => void } = { count: 100_000 }): Promise<SeedManifest> {
  const log = options.log ?? (() => undefined);
  const chunk = options.chunk ?? 2_000;
  const started = performance.now();
  const client = createClient({ url: pathToFileURL(dbPath).href, concurrency: 1, intMode: "number" });
  try {
    const tables = await client.execute("SELECT name FROM sqlite_master WHERE name IN ('documents', 'documents_fts', 'documents_ai')");
    if (tables.rows.length !== 3) throw new Error(`${dbPath} lacks the server's schema (documents, documents_fts, documents_ai trigger): create it with \`mcp-mt tenant add\``);
    await client.execute("PRAGMA journal_mode = WAL");
    // Bulk-load setting only; the server opens the file with its own pragmas (synchronous = NORMAL).
    await client.execute("PRAGMA synchronous = OFF");
    const next = documentGenerator(options.seed ?? 42);
    // Spread creation times over the last 90 days, oldest first, as a real store would have.
    const now = Date.now();
    const span = 90 * 24 * 3600 * 1000;
    for (let done = 0; done < options.count; ) {
      const n = Math.min(chunk, options.count - done);
      const statements: InStatement[] = [];
      for (let i = 0; i < n; i++) {
        const doc = next();
        const id = newDocumentId();
        const at = Math.round(now - span + ((done + i) / options.count) * span);
        const bytes = byteLength(doc.title) + byteLength(doc.content) + doc.tags.reduce((sum, t) => sum + byteLength(t), 0);
        statements.push({ sql: insertDocument, args: [id, doc.title, doc.content, JSON.stringify(doc.tags), 1, bytes, at, at] });
        for (const tag of doc.tags) statements.push({ sql: insertTag, args: [tag, id] });
      }
      await client.batch(statements, "write");
      done += n;
      if (done % 20_000 === 0 || done === options.count) log(`seeded ${done}/${options.count} documents (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    }
    const total = Number((await client.execute("SELECT count(*) AS n FROM documents")).rows[0]!.n);

    // Search words: real words whose FTS match count is between 0.5% and 2% of the documents, closest to 1% first.
    const lo = Math.floor(total * 0.005);
    const hi = Math.ceil(total * 0.02);
    const counted: { word: string; matches: number }[] = [];
    for (const word of realWords) {
      const r = await client.execute({ sql: "SELECT count(*) AS n FROM documents_fts WHERE documents_fts MATCH ?", args: [`"${word}"`] });
      const matches = Number(r.rows[0]!.n);
      if (matches >= lo && matches <= hi) counted.push({ word, matches });
    }
    counted.sort((a, b) => Math.abs(Math.log(a.matches / (total * 0.01))) - Math.abs(Math.log(b.matches / (total * 0.01))));
    const queries = counted.slice(0, 8);
    if (queries.length === 0) throw new Error(`no real word matches 0.5%-2% of ${total} documents`);

    const ids = (await client.execute("SELECT id FROM documents ORDER BY random() LIMIT 2000")).rows.map((r) => r.id as string);
    await client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
    const pages = await client.execute("SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()");
    return { documents: total, seconds: (performance.now() - started) / 1000, queries, ids, dbBytes: Number(pages.rows[0]!.bytes) };
  } finally {
    client.close();
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Bun.argv.slice(2),
    allowPositionals: true,
    options: { count: { type: "string", default: "100000" }, out: { type: "string" }, seed: { type: "string", default: "42" } },
  });
  const db = positionals[0];
  if (!db) {
    console.error("usage: bun bench/seed.ts <data/tenants/<id>.db> [--count 100000] [--out manifest.json]");
    process.exit(2);
  }
  const manifest = await seed(db, { count: Number(values.count), seed: Number(values.seed), log: (l) => console.error(l) });
  const text = JSON.stringify(manifest, null, 2);
  if (values.out) await Bun.write(values.out, text);
  else console.log(text);
}
