/** A tenant's document store: CRUD, tag filter, cursor pagination and FTS5 search on that tenant's file only. */
import { and, desc, lt, sql } from "drizzle-orm";
import type Database from "libsql";
import { AppError, invalidInput, notFound } from "../../errors.ts";
import type { TenantDatabase } from "../libsql/tenant-files.ts";
import { documents, documentTags } from "./schema.ts";
import { likePattern, parseSearchQuery, searchBounds, type SearchQuery } from "./search-query.ts";
import { leadOf, snippetFinder, snippetOf } from "./snippet.ts";

export type Document = {
  id: string;
  title: string;
  content: string;
  tags: string[];
  version: number;
  created_at: string;
  updated_at: string;
};

export type DocumentSummary = Omit<Document, "content"> & { bytes: number };
export type SearchHit = Omit<DocumentSummary, "bytes"> & { snippet: string; score: number };

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Opaque, random, not sequential: `doc_` + 22 base62 characters (~131 bits). */
export function newDocumentId(): string {
  let id = "doc_";
  for (const byte of crypto.getRandomValues(new Uint8Array(40))) {
    if (byte < 248 && id.length < 26) id += base62[byte % 62];
  }
  return id.length === 26 ? id : newDocumentId();
}

const encoder = new TextEncoder();
export const byteLength = (text: string) => encoder.encode(text).length;
export const sizeOf = (title: string, content: string, tags: string[]) => byteLength(title) + byteLength(content) + tags.reduce((n, t) => n + byteLength(t), 0);

/** Opaque cursors: the position (seq) of the last item returned, base64url-encoded with a version tag. */
export const encodeCursor = (seq: number) => Buffer.from(`c1:${seq}`).toString("base64url");
export function decodeCursor(cursor: string): number {
  const match = /^c1:(\d{1,15})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match) throw invalidInput("cursor is not one this server returned; pass next_cursor from the previous page unchanged");
  return Number(match[1]);
}

/**
 * The FTS5 query of search before bounded search (now parseSearchQuery), kept as the reference the rare-term
 * ranking test and bench/search.ts compare against. Every term is quoted (so `"`, `NEAR(`, `AND`, `-` or `:` are plain text), terms are
 * ANDed, and a trailing `*` on a term keeps prefix search. Returns null when no searchable term remains.
 */
export function toFtsQuery(text: string): string | null {
  const terms = text
    .split(/\s+/)
    .map((raw) => {
      const prefix = raw.endsWith("*");
      const word = raw.replace(/\*+$/, "").replace(/[\u0000-\u001f]/g, "");
      if (!/[\p{L}\p{N}]/u.test(word)) return null;
      return `"${word.replaceAll('"', '""')}"${prefix ? "*" : ""}`;
    })
    .filter((t): t is string => t !== null);
  return terms.length ? terms.join(" ") : null;
}

/** Storage quota of the tenant: checked inside the same atomic batch as each write. */
export type StorageQuota = { maxDocuments: number; maxBytes: number };

export type StorageUse = { documents: number; bytes: number };

export const unlimited: StorageQuota = { maxDocuments: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };

type Row = { seq: number; id: string; title: string; content: string; tags: string; version: number; bytes: number; created_at: number; updated_at: number };

type RowMeta = Pick<Row, "id" | "title" | "tags" | "version" | "created_at" | "updated_at">;

/** The fields every document answer shares, from a row. */
const metaOf = (r: RowMeta) => ({
  id: r.id,
  title: r.title,
  tags: JSON.parse(r.tags) as string[],
  version: r.version,
  created_at: new Date(r.created_at).toISOString(),
  updated_at: new Date(r.updated_at).toISOString(),
});

const rowToDocument = (r: Row): Document => ({ ...metaOf(r), content: r.content });

/** The statements of the hot paths, prepared once per open tenant file. */
const sqlText = {
  // Column order matters: rows of this statement are read as arrays (cheaper than objects) by rowOf.
  get: "SELECT seq, id, title, content, tags, version, bytes, created_at, updated_at FROM documents WHERE id = ?",
  stats: "SELECT documents, bytes FROM tenant_stats WHERE id = 1",
  insert: `INSERT INTO documents (id, title, content, tags, version, bytes, created_at, updated_at)
           SELECT ?, ?, ?, ?, 1, ?, ?, ?
           WHERE (SELECT documents FROM tenant_stats WHERE id = 1) < ? AND (SELECT bytes FROM tenant_stats WHERE id = 1) + ? <= ?`,
  insertTag: "INSERT INTO document_tags (tag, doc_seq) VALUES (?, ?)",
  deleteTags: "DELETE FROM document_tags WHERE doc_seq = ?",
  update: `UPDATE documents SET title = ?, content = ?, tags = ?, version = version + 1, bytes = ?, updated_at = ?
           WHERE seq = ? AND (? <= bytes OR (SELECT bytes FROM tenant_stats WHERE id = 1) + (? - bytes) <= ?)`,
  delete: "DELETE FROM documents WHERE id = ? RETURNING seq",
  // Ranking, in tiers (see #rankedMatches): each statement reads a bounded number of index entries.
  searchProbe: "SELECT 1 FROM documents_fts WHERE documents_fts MATCH ?1 LIMIT 1 OFFSET ?2 - 1",
  searchExact: "SELECT rowid AS seq, bm25(documents_fts, 5.0, 1.0) AS score FROM documents_fts WHERE documents_fts MATCH ?1 ORDER BY score LIMIT ?2",
  searchMatches: "SELECT rowid FROM documents_fts WHERE documents_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2",
  searchNewest: `SELECT seq, score FROM (
                   SELECT rowid AS seq, bm25(documents_fts, 5.0, 1.0) AS score FROM documents_fts
                   WHERE documents_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2)
                 ORDER BY score LIMIT ?3`,
  searchRecent: "SELECT seq, bytes FROM documents ORDER BY seq DESC LIMIT ?",
  searchHit: "SELECT id, title, tags, version, created_at, updated_at, substr(content, 1, ?2) AS head, length(content) AS chars FROM documents WHERE seq = ?1",
} as const;

type StatementName = keyof typeof sqlText;

/** A ranked document: its position and its bm25 score (lower is better, as FTS5 returns it). */
type Ranked = { seq: number; score: number };

/** Whether one document holds every literal term (title, or the first `literalWindowChars` of the content). */
const holdsLiterals = (n: number) => `SELECT 1 FROM documents WHERE seq = ?1
  ${Array.from({ length: n }, (_, i) => `AND (title LIKE ?${i + 2} ESCAPE '\\' OR substr(content, 1, ${searchBounds.literalWindowChars}) LIKE ?${i + 2} ESCAPE '\\')`).join("\n  ")}`;

/** Documents of a symbols-only query: newest first among the scanned documents, each holding every literal. */
const recentWithLiterals = (n: number) => `SELECT seq, 0 AS score FROM documents WHERE seq >= ?1
  ${Array.from({ length: n }, (_, i) => `AND (title LIKE ?${i + 3} ESCAPE '\\' OR substr(content, 1, ${searchBounds.literalWindowChars}) LIKE ?${i + 3} ESCAPE '\\')`).join("\n  ")}
  ORDER BY seq DESC LIMIT ?2`;

export class DocumentStore {
  readonly #t: TenantDatabase;
  readonly #clock: () => number;
  readonly #quota: StorageQuota;

  constructor(tenant: TenantDatabase, clock: () => number = Date.now, quota: StorageQuota = unlimited) {
    this.#t = tenant;
    this.#clock = clock;
    this.#quota = quota;
  }

  /** A statement of this tenant's connection, prepared on first use. */
  #stmt(name: StatementName): Database.Statement<unknown[]> {
    let statement = this.#t.statements.get(name) as Database.Statement<unknown[]> | undefined;
    if (!statement) {
      statement = this.#t.native.prepare(sqlText[name]);
      this.#t.statements.set(name, statement);
    }
    return statement;
  }

  /** One document row by id, read in raw (array) mode on the hot path. */
  #getRow(id: string): Row | undefined {
    let statement = this.#t.statements.get("get:raw") as Database.Statement<unknown[]> | undefined;
    if (!statement) this.#t.statements.set("get:raw", (statement = this.#t.native.prepare(sqlText.get).raw(true)));
    const r = statement.get(id) as [number, string, string, string, string, number, number, number, number] | undefined;
    return r && { seq: r[0], id: r[1], title: r[2], content: r[3], tags: r[4], version: r[5], bytes: r[6], created_at: r[7], updated_at: r[8] };
  }

  /** Documents and bytes stored now (kept by triggers, O(1)). */
  async storage(): Promise<StorageUse> {
    const row = this.#stmt("stats").get() as { documents: number; bytes: number } | undefined;
    return { documents: row?.documents ?? 0, bytes: row?.bytes ?? 0 };
  }

  async create(input: { title: string; content: string; tags: string[] }): Promise<Document> {
    const now = this.#clock();
    const tags = unique(input.tags);
    const id = newDocumentId();
    const bytes = sizeOf(input.title, input.content, tags);
    const { maxDocuments, maxBytes } = this.#quota;
    // One synchronous transaction: the quota check is part of the insert, so writers cannot overshoot.
    const inserted = transaction(this.#t.native, () => {
      const result = this.#stmt("insert").run(id, input.title, input.content, JSON.stringify(tags), bytes, now, now, maxDocuments, bytes, maxBytes);
      if (result.changes === 0) return false;
      for (const tag of tags) this.#stmt("insertTag").run(tag, Number(result.lastInsertRowid));
      return true;
    });
    if (!inserted) throw this.#quotaError(bytes);
    return { id, title: input.title, content: input.content, tags, version: 1, created_at: new Date(now).toISOString(), updated_at: new Date(now).toISOString() };
  }

  #quotaError(adding: number): AppError {
    return quotaExceeded(this.#stmt("stats").get() as StorageUse, this.#quota, adding);
  }

  async get(id: string): Promise<Document | null> {
    const row = this.#getRow(id);
    return row ? rowToDocument(row) : null;
  }

  /** Newest first; `cursor` continues after the last item of the previous page. */
  async list(options: { limit: number; cursor?: string; tag?: string }): Promise<{ documents: DocumentSummary[]; next_cursor: string | null }> {
    const after = options.cursor ? decodeCursor(options.cursor) : undefined;
    const { db } = this.#t;
    const conditions = [after !== undefined ? lt(documents.seq, after) : undefined, options.tag !== undefined ? sql`${documents.seq} IN (SELECT doc_seq FROM ${documentTags} WHERE tag = ${options.tag})` : undefined];
    const rows = db
      .select({ seq: documents.seq, id: documents.id, title: documents.title, tags: documents.tags, version: documents.version, bytes: documents.bytes, createdAt: documents.createdAt, updatedAt: documents.updatedAt })
      .from(documents)
      .where(and(...conditions))
      .orderBy(desc(documents.seq))
      .limit(options.limit + 1)
      .all();
    const page = rows.slice(0, options.limit);
    return {
      documents: page.map((r) => ({ id: r.id, title: r.title, tags: r.tags, version: r.version, bytes: r.bytes, created_at: new Date(r.createdAt).toISOString(), updated_at: new Date(r.updatedAt).toISOString() })),
      next_cursor: rows.length > options.limit ? encodeCursor(page.at(-1)!.seq) : null,
    };
  }

  /**
   * Full-text search over title and content, best (bm25, title weighted 5x) first, with highlighted snippets.
   * Cost is bounded by construction (searchBounds): see #rankedMatches for the ranking, a snippet
   * reads at most `snippetWindowChars` of a hit, and a symbols-only query scans at most `scanBytes`.
   */
  async search(query: string, limit: number): Promise<SearchHit[]> {
    const parsed = parseSearchQuery(query);
    const ranked = parsed.fts === null ? this.#recentWithLiterals(parsed.literals, limit) : this.#withLiterals(this.#rankedMatches(parsed, limit), parsed.literals, limit);
    const finder = snippetFinder(parsed.terms);
    return ranked.map(({ seq, score }) => {
      const r = this.#stmt("searchHit").get(seq, searchBounds.snippetWindowChars) as RowMeta & { head: string; chars: number };
      const truncated = r.chars > r.head.length;
      const snippet = snippetOf(r.head, finder, truncated) ?? snippetOf(r.title, finder) ?? leadOf(r.head, truncated);
      return { ...metaOf(r), snippet, score: Math.round(-score * 1e4) / 1e4 || 0 };
    });
  }

  /**
   * Ranked matches without reading every match of a common word. FTS5's bm25 counts the documents of each phrase
   * (one pass over its whole list of documents) and scores every row it is given, so the ranking runs in tiers:
   * - every phrase matches fewer than `candidates` documents: bm25 over all matches, exactly as before;
   * - some phrases are common: bm25 over the rare phrases only, restricted to documents matching the whole query
   *   (both sets are smaller than `candidates`): common words filter but do not add to the score;
   * - every phrase is common: bm25 over the newest `candidates` matches of the whole query.
   * The trade-off of the last tier: an older document is not considered, even when bm25 would rank it first.
   * What still grows with the tenant's size is bm25's count of each common phrase's documents in that tier
   * (one pass over its list, at most maxTerms lists): cheap per entry, and never a score per match.
   * When literal terms follow, `literalCandidates` ranked matches are returned for them to filter.
   */
  #rankedMatches(query: SearchQuery, limit: number): Ranked[] {
    const wanted = query.literals.length ? searchBounds.literalCandidates : limit;
    const probe = this.#stmt("searchProbe");
    const rare = query.phrases.filter((phrase) => probe.get(phrase, searchBounds.candidates) === undefined);
    if (rare.length === query.phrases.length) return this.#stmt("searchExact").all(query.fts, wanted) as Ranked[];
    if (rare.length === 0) return this.#stmt("searchNewest").all(query.fts, searchBounds.candidates, wanted) as Ranked[];
    const matching = new Set((this.#cached("searchMatches:raw", () => sqlText.searchMatches, true).all(query.fts, searchBounds.candidates) as [number][]).map((r) => r[0]));
    const scored = this.#stmt("searchExact").all(rare.join(" "), searchBounds.candidates) as Ranked[];
    return scored.filter((r) => matching.has(r.seq)).slice(0, wanted);
  }

  /** The first `limit` ranked matches holding every literal term (checked one by one, best first). */
  #withLiterals(ranked: Ranked[], literals: string[], limit: number): Ranked[] {
    if (literals.length === 0) return ranked;
    const holds = this.#cached(`searchLiterals:${literals.length}`, () => holdsLiterals(literals.length));
    const patterns = literals.map(likePattern);
    const kept: Ranked[] = [];
    for (const r of ranked) {
      if (kept.length === limit) break;
      if (holds.get(r.seq, ...patterns) !== undefined) kept.push(r);
    }
    return kept;
  }

  /** A symbols-only query (no word for the index): newest documents first, scanning at most `scanBytes` of text. */
  #recentWithLiterals(literals: string[], limit: number): Ranked[] {
    let oldest = Number.MAX_SAFE_INTEGER;
    let bytes = 0;
    // all(), not iterate(): stopping an iteration early would leave the driver's statement mid-step.
    for (const [seq, size] of this.#cached("searchRecent:raw", () => sqlText.searchRecent, true).all(searchBounds.candidates) as [number, number][]) {
      if (bytes > 0 && bytes + size > searchBounds.scanBytes) break;
      bytes += size;
      oldest = seq;
    }
    return this.#cached(`searchRecent:${literals.length}`, () => recentWithLiterals(literals.length)).all(oldest, limit, ...literals.map(likePattern)) as Ranked[];
  }

  /** A statement built on demand (its text depends on the query's shape), prepared once per connection. */
  #cached(name: string, text: () => string, raw = false): Database.Statement<unknown[]> {
    let statement = this.#t.statements.get(name) as Database.Statement<unknown[]> | undefined;
    if (!statement) {
      statement = this.#t.native.prepare(text());
      if (raw) statement.raw(true);
      this.#t.statements.set(name, statement);
    }
    return statement;
  }

  /** Applies the given fields; with `expectedVersion`, refuses (conflict) unless the stored version matches. */
  async update(id: string, patch: { title?: string; content?: string; tags?: string[]; expectedVersion?: number }): Promise<Document> {
    // Synchronous from read to write: no other request of this process can interleave.
    return transaction(this.#t.native, () => {
      const row = this.#getRow(id);
      if (!row) throw notFound(`document ${id} not found`);
      if (patch.expectedVersion !== undefined && patch.expectedVersion !== row.version) {
        throw versionConflict(id, row.version, patch.expectedVersion);
      }
      const current = rowToDocument(row);
      const title = patch.title ?? current.title;
      const content = patch.content ?? current.content;
      const tags = patch.tags ? unique(patch.tags) : current.tags;
      const now = Math.max(this.#clock(), row.updated_at);
      const bytes = sizeOf(title, content, tags);
      const result = this.#stmt("update").run(title, content, JSON.stringify(tags), bytes, now, row.seq, bytes, bytes, this.#quota.maxBytes);
      if (result.changes === 0) throw this.#quotaError(bytes);
      if (patch.tags) {
        this.#stmt("deleteTags").run(row.seq);
        for (const tag of tags) this.#stmt("insertTag").run(tag, row.seq);
      }
      return { ...current, title, content, tags, version: row.version + 1, updated_at: new Date(now).toISOString() };
    });
  }

  /** Deletes a document; false when there was none with this id. */
  async delete(id: string): Promise<boolean> {
    return transaction(this.#t.native, () => {
      const deleted = this.#stmt("delete").get(id) as { seq: number } | undefined;
      if (deleted) this.#stmt("deleteTags").run(deleted.seq);
      return deleted !== undefined;
    });
  }
}

/** Tags without repeats, in the order given. */
export const uniqueTags = (tags: string[]) => [...new Set(tags)];
const unique = uniqueTags;

/** The refusal of a write beyond the storage quota (every backend words it the same). */
export function quotaExceeded(use: StorageUse, quota: StorageQuota, adding: number): AppError {
  const { maxDocuments, maxBytes } = quota;
  const what =
    use.documents >= maxDocuments
      ? `${use.documents} of ${maxDocuments} documents stored`
      : `${use.bytes} of ${maxBytes} bytes stored and this write adds ${adding}`;
  return new AppError("quota_exceeded", `Storage quota reached: ${what}. Delete documents or ask the operator for a larger plan.`, {
    details: { quota: use.documents >= maxDocuments ? "max_documents" : "max_storage_bytes", documents: use.documents, bytes: use.bytes, max_documents: maxDocuments, max_storage_bytes: maxBytes },
  });
}

/** The refusal of an update whose expected version is not the stored one. */
export function versionConflict(id: string, current: number, expected: number): AppError {
  return new AppError("conflict", `document ${id} is at version ${current}, not ${expected}: get it again, reapply your change, and pass expected_version ${current}`, {
    details: { current_version: current },
  });
}

/**
 * Runs `fn` in one write transaction. Unlike the driver's helper, a failure that already ended the
 * transaction (SQLite rolls back by itself on a full disk) keeps its own error instead of "cannot rollback".
 * Inside a transaction already open (group commit: the store executor runs several calls of one tenant in one
 * transaction), `fn` runs under a savepoint instead, so its failure undoes its own changes only.
 */
function transaction<T>(db: Database.Database, fn: () => T): T {
  if (db.inTransaction) return savepoint(db, fn);
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    if (db.inTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

function savepoint<T>(db: Database.Database, fn: () => T): T {
  db.exec("SAVEPOINT call");
  try {
    const result = fn();
    db.exec("RELEASE call");
    return result;
  } catch (error) {
    // Not in a transaction any more: SQLite rolled the whole transaction back; the caller sees that.
    if (db.inTransaction) db.exec("ROLLBACK TO call; RELEASE call");
    throw error;
  }
}
