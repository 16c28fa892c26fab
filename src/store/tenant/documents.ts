/** A tenant's document store: CRUD, tag filter, cursor pagination and FTS5 search on that tenant's file only. */
import { and, desc, eq, lt, sql } from "drizzle-orm";
import { AppError, invalidInput, notFound } from "../../errors.ts";
import type { TenantDatabase } from "../../tenancy/registry.ts";
import { documents, documentTags, type DocumentRow } from "./schema.ts";

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
const sizeOf = (title: string, content: string, tags: string[]) => byteLength(title) + byteLength(content) + tags.reduce((n, t) => n + byteLength(t), 0);

const toDocument = (row: DocumentRow): Document => ({
  id: row.id,
  title: row.title,
  content: row.content,
  tags: row.tags,
  version: row.version,
  created_at: new Date(row.createdAt).toISOString(),
  updated_at: new Date(row.updatedAt).toISOString(),
});

/** Opaque cursors: the position (seq) of the last item returned, base64url-encoded with a version tag. */
const encodeCursor = (seq: number) => Buffer.from(`c1:${seq}`).toString("base64url");
function decodeCursor(cursor: string): number {
  const match = /^c1:(\d{1,15})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match) throw invalidInput("cursor is not one this server returned; pass next_cursor from the previous page unchanged");
  return Number(match[1]);
}

/**
 * FTS5 query from user text: every term is quoted (so `"`, `NEAR(`, `AND`, `-` or `:` are plain text), terms are
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

const unlimited: StorageQuota = { maxDocuments: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };

export class DocumentStore {
  readonly #t: TenantDatabase;
  readonly #clock: () => number;
  readonly #quota: StorageQuota;

  constructor(tenant: TenantDatabase, clock: () => number = Date.now, quota: StorageQuota = unlimited) {
    this.#t = tenant;
    this.#clock = clock;
    this.#quota = quota;
  }

  /** Documents and bytes stored now (kept by triggers, O(1)). */
  async storage(): Promise<StorageUse> {
    const result = await this.#t.client.execute("SELECT documents, bytes FROM tenant_stats WHERE id = 1");
    const row = result.rows[0];
    return { documents: Number(row?.documents ?? 0), bytes: Number(row?.bytes ?? 0) };
  }

  async create(input: { title: string; content: string; tags: string[] }): Promise<Document> {
    const now = this.#clock();
    const tags = unique(input.tags);
    const row = { id: newDocumentId(), title: input.title, content: input.content, tags, version: 1, bytes: sizeOf(input.title, input.content, tags), createdAt: now, updatedAt: now };
    const { db } = this.#t;
    const { maxDocuments, maxBytes } = this.#quota;
    await this.#t.writes.run(async () => {
      // The quota check and the insert are one statement in one atomic batch: concurrent writers cannot overshoot.
      const [inserted] = await db.batch([
        db.run(sql`INSERT INTO documents (id, title, content, tags, version, bytes, created_at, updated_at)
                   SELECT ${row.id}, ${row.title}, ${row.content}, ${JSON.stringify(tags)}, 1, ${row.bytes}, ${now}, ${now}
                   WHERE (SELECT documents FROM tenant_stats WHERE id = 1) < ${maxDocuments}
                     AND (SELECT bytes FROM tenant_stats WHERE id = 1) + ${row.bytes} <= ${maxBytes}`),
        ...tags.map((tag) => db.run(sql`INSERT INTO document_tags (tag, doc_seq) SELECT ${tag}, seq FROM documents WHERE id = ${row.id}`)),
      ]);
      if (inserted.rowsAffected === 0) throw await this.#quotaError(row.bytes);
    });
    return toDocument({ ...row, seq: 0 });
  }

  async #quotaError(adding: number): Promise<AppError> {
    const use = await this.storage();
    const { maxDocuments, maxBytes } = this.#quota;
    const what =
      use.documents >= maxDocuments
        ? `${use.documents} of ${maxDocuments} documents stored`
        : `${use.bytes} of ${maxBytes} bytes stored and this write adds ${adding}`;
    return new AppError("quota_exceeded", `Storage quota reached: ${what}. Delete documents or ask the operator for a larger plan.`, {
      details: { quota: use.documents >= maxDocuments ? "max_documents" : "max_storage_bytes", documents: use.documents, bytes: use.bytes, max_documents: maxDocuments, max_storage_bytes: maxBytes },
    });
  }

  async get(id: string): Promise<Document | null> {
    const [row] = await this.#t.db.select().from(documents).where(eq(documents.id, id)).limit(1);
    return row ? toDocument(row) : null;
  }

  /** Newest first; `cursor` continues after the last item of the previous page. */
  async list(options: { limit: number; cursor?: string; tag?: string }): Promise<{ documents: DocumentSummary[]; next_cursor: string | null }> {
    const after = options.cursor ? decodeCursor(options.cursor) : undefined;
    const { db } = this.#t;
    const conditions = [after !== undefined ? lt(documents.seq, after) : undefined, options.tag !== undefined ? sql`${documents.seq} IN (SELECT doc_seq FROM ${documentTags} WHERE tag = ${options.tag})` : undefined];
    const rows = await db
      .select({ seq: documents.seq, id: documents.id, title: documents.title, tags: documents.tags, version: documents.version, bytes: documents.bytes, createdAt: documents.createdAt, updatedAt: documents.updatedAt })
      .from(documents)
      .where(and(...conditions))
      .orderBy(desc(documents.seq))
      .limit(options.limit + 1);
    const page = rows.slice(0, options.limit);
    return {
      documents: page.map((r) => ({ id: r.id, title: r.title, tags: r.tags, version: r.version, bytes: r.bytes, created_at: new Date(r.createdAt).toISOString(), updated_at: new Date(r.updatedAt).toISOString() })),
      next_cursor: rows.length > options.limit ? encodeCursor(page.at(-1)!.seq) : null,
    };
  }

  /** Full-text search over title and content, best (bm25, title weighted 5x) first, with highlighted snippets. */
  async search(query: string, limit: number): Promise<SearchHit[]> {
    const fts = toFtsQuery(query);
    if (fts === null) throw invalidInput("query has no searchable words: use letters or digits");
    const result = await this.#t.client.execute({
      sql: `SELECT d.id, d.title, d.tags, d.version, d.created_at, d.updated_at,
                   snippet(documents_fts, -1, '**', '**', '…', 16) AS snippet, bm25(documents_fts, 5.0, 1.0) AS score
            FROM documents_fts JOIN documents d ON d.seq = documents_fts.rowid
            WHERE documents_fts MATCH ? ORDER BY score LIMIT ?`,
      args: [fts, limit],
    });
    return result.rows.map((r) => ({
      id: r.id as string,
      title: r.title as string,
      tags: JSON.parse(r.tags as string) as string[],
      version: r.version as number,
      created_at: new Date(r.created_at as number).toISOString(),
      updated_at: new Date(r.updated_at as number).toISOString(),
      snippet: r.snippet as string,
      score: Math.round(-(r.score as number) * 1e4) / 1e4,
    }));
  }

  /** Applies the given fields; with `expectedVersion`, refuses (conflict) unless the stored version matches. */
  async update(id: string, patch: { title?: string; content?: string; tags?: string[]; expectedVersion?: number }): Promise<Document> {
    return this.#t.writes.run(async () => {
      const current = await this.get(id);
      if (!current) throw notFound(`document ${id} not found`);
      if (patch.expectedVersion !== undefined && patch.expectedVersion !== current.version) {
        throw new AppError("conflict", `document ${id} is at version ${current.version}, not ${patch.expectedVersion}: get it again, reapply your change, and pass expected_version ${current.version}`, {
          details: { current_version: current.version },
        });
      }
      const title = patch.title ?? current.title;
      const content = patch.content ?? current.content;
      const tags = patch.tags ? unique(patch.tags) : current.tags;
      const now = Math.max(this.#clock(), Date.parse(current.updated_at));
      const { db } = this.#t;
      const changes = { title, content, tags, version: current.version + 1, bytes: sizeOf(title, content, tags), updatedAt: now };
      const grows = sql`(SELECT bytes FROM tenant_stats WHERE id = 1) + (${changes.bytes} - ${documents.bytes}) <= ${this.#quota.maxBytes}`;
      const [updated] = await db.batch([
        db.update(documents).set(changes).where(and(eq(documents.id, id), sql`(${changes.bytes} <= ${documents.bytes} OR ${grows})`)),
        ...(patch.tags
          ? [
              // Conditioned on the new version: when the quota refused the update, the tags stay as they were.
              db.run(sql`DELETE FROM document_tags WHERE doc_seq = (SELECT seq FROM documents WHERE id = ${id} AND version = ${changes.version})`),
              ...tags.map((tag) => db.run(sql`INSERT INTO document_tags (tag, doc_seq) SELECT ${tag}, seq FROM documents WHERE id = ${id} AND version = ${changes.version}`)),
            ]
          : []),
      ]);
      if (updated.rowsAffected === 0) throw await this.#quotaError(changes.bytes);
      return { ...current, title, content, tags, version: changes.version, updated_at: new Date(now).toISOString() };
    });
  }

  /** Deletes a document; false when there was none with this id. */
  async delete(id: string): Promise<boolean> {
    return this.#t.writes.run(async () => {
      const { db } = this.#t;
      const [, deleted] = await db.batch([
        db.run(sql`DELETE FROM document_tags WHERE doc_seq = (SELECT seq FROM documents WHERE id = ${id})`),
        db.delete(documents).where(eq(documents.id, id)).returning({ id: documents.id }),
      ]);
      return deleted.length > 0;
    });
  }
}

const unique = (tags: string[]) => [...new Set(tags)];
