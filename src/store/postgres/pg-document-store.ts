/**
 * A tenant's documents on PostgreSQL (any strategy): the same answers, errors, quotas, versions, cursors and
 * search bounds as the libSQL DocumentStore (src/store/tenant/documents.ts), whose helpers it shares for every
 * message a client can see. Each call is one transaction bound to the tenant (tenant-transaction.ts).
 */
import { invalidInput, notFound } from "../../errors.ts";
import type { DocumentInput, DocumentPage, DocumentPatch, StorageQuota, TenantStore } from "../tenant-store.ts";
import { decodeCursor, encodeCursor, newDocumentId, quotaExceeded, sizeOf, uniqueTags, versionConflict, type Document, type SearchHit, type StorageUse } from "../tenant/documents.ts";
import { likePattern, parseSearchQuery, searchBounds } from "../tenant/search-query.ts";
import type { Sql } from "./connection.ts";
import { hitsOf, toTsQuery, type HitRow } from "./search.ts";
import type { Statements } from "./statements.ts";
import { inTransaction, type Binding, type Exec } from "./tenant-transaction.ts";

type Row = { seq: number; id: string; title: string; content: string; tags: string[]; version: number; bytes: number; created_at: number; updated_at: number };

/** PostgreSQL text cannot hold U+0000 (libSQL can): refused with a message naming the field, never a 500. */
function refuseNul(fields: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(fields)) {
    if (value?.includes("\u0000")) throw invalidInput(`${name} contains the NUL character (U+0000), which this server's storage (PostgreSQL) cannot store: remove it`);
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const toDocument = (r: Row): Document => ({ id: r.id, title: r.title, content: r.content, tags: r.tags, version: r.version, created_at: iso(r.created_at), updated_at: iso(r.updated_at) });

export type PgTenantTarget = {
  sql: Sql;
  tenant: string;
  statements: Statements;
  binding: Binding;
};

export class PgDocumentStore implements TenantStore {
  readonly #t: PgTenantTarget;
  readonly #quota: StorageQuota;
  readonly #signal: AbortSignal | undefined;
  readonly #clock: () => number;

  constructor(target: PgTenantTarget, quota: StorageQuota, signal?: AbortSignal, clock: () => number = Date.now) {
    this.#t = target;
    this.#quota = quota;
    this.#signal = signal;
    this.#clock = clock;
  }

  /** Runs `fn` in the tenant's transaction; `exec` prepends the tenant id in row mode. */
  #tx<T>(fn: (exec: Exec, raw: Exec) => Promise<T>): Promise<T> {
    const { sql, binding, statements, tenant } = this.#t;
    return inTransaction(sql, binding, this.#signal, (raw) => fn(statements.row ? (text, params = []) => raw(text, [tenant, ...params]) : raw, raw));
  }

  async #use(exec: Exec): Promise<StorageUse> {
    const [row] = await exec<StorageUse>(this.#t.statements.stats);
    return { documents: row?.documents ?? 0, bytes: row?.bytes ?? 0 };
  }

  storage(): Promise<StorageUse> {
    return this.#tx((exec) => this.#use(exec));
  }

  create(input: DocumentInput): Promise<Document> {
    refuseNul({ title: input.title, content: input.content, tags: input.tags.join("") });
    const now = this.#clock();
    const tags = uniqueTags(input.tags);
    const id = newDocumentId();
    const bytes = sizeOf(input.title, input.content, tags);
    return this.#tx(async (exec) => {
      const inserted = await exec(this.#t.statements.insert, [id, input.title, input.content, tags, bytes, now, this.#quota.maxDocuments, this.#quota.maxBytes]);
      if (inserted.length === 0) throw quotaExceeded(await this.#use(exec), this.#quota, bytes);
      return { id, title: input.title, content: input.content, tags, version: 1, created_at: iso(now), updated_at: iso(now) };
    });
  }

  get(id: string): Promise<Document | null> {
    return this.#tx(async (exec) => {
      const [row] = await exec<Row>(this.#t.statements.get, [id]);
      return row ? toDocument(row) : null;
    });
  }

  list(options: { limit: number; cursor?: string; tag?: string }): Promise<DocumentPage> {
    // Decoded before any query: a bad cursor is the caller's error, not the database's.
    const after = options.cursor ? decodeCursor(options.cursor) : undefined;
    // No stored tag holds U+0000 (PostgreSQL text cannot), and the driver cannot send it.
    if (options.tag?.includes("\u0000")) return Promise.resolve({ documents: [], next_cursor: null });
    const params: unknown[] = [];
    if (after !== undefined) params.push(after);
    if (options.tag !== undefined) params.push(options.tag);
    params.push(options.limit + 1);
    return this.#tx(async (exec) => {
      const rows = await exec<Omit<Row, "content">>(this.#t.statements.list(after !== undefined, options.tag !== undefined), params);
      const page = rows.slice(0, options.limit);
      return {
        documents: page.map((r) => ({ id: r.id, title: r.title, tags: r.tags, version: r.version, bytes: r.bytes, created_at: iso(r.created_at), updated_at: iso(r.updated_at) })),
        next_cursor: rows.length > options.limit ? encodeCursor(page.at(-1)!.seq) : null,
      };
    });
  }

  /**
   * Ranked full-text search under libSQL's bounds: the query is parsed by the same parser (≤ 16 terms, prefixes
   * of ≥ 2 characters, literal symbols), the newest `candidates` matches are ranked, literals are checked in the
   * best `literalCandidates`, and ts_headline runs for the returned page only, on a bounded window.
   */
  search(query: string, limit: number): Promise<SearchHit[]> {
    const parsed = parseSearchQuery(query);
    const patterns = parsed.literals.map(likePattern);
    const { statements } = this.#t;
    return this.#tx(async (exec, raw) => {
      if (parsed.fts === null) {
        // Symbols only: the newest documents, scanning at most `scanBytes` of text (as libSQL does).
        let oldest = Number.MAX_SAFE_INTEGER;
        let bytes = 0;
        for (const r of await exec<{ seq: number; bytes: number }>(statements.recent, [searchBounds.candidates])) {
          if (bytes > 0 && bytes + r.bytes > searchBounds.scanBytes) break;
          bytes += r.bytes;
          oldest = r.seq;
        }
        const rows = await exec<HitRow>(statements.recentWithLiterals(patterns.length), [oldest, limit, ...patterns]);
        return hitsOf(rows, parsed);
      }
      const wanted = patterns.length ? searchBounds.literalCandidates : limit;
      // Planned with this query's words (pipelined, this transaction only): a generic plan of the prepared
      // statement cannot tell a rare word (GIN index) from a common one (newest documents first).
      const custom = raw("SET LOCAL plan_cache_mode = force_custom_plan");
      custom.catch(() => undefined);
      const rows = await exec<HitRow>(statements.search(patterns.length), [toTsQuery(parsed), searchBounds.candidates, wanted, limit, ...patterns]);
      await custom;
      return hitsOf(rows, parsed);
    });
  }

  update(id: string, patch: DocumentPatch): Promise<Document> {
    refuseNul({ title: patch.title, content: patch.content, tags: patch.tags?.join("") });
    const { statements } = this.#t;
    return this.#tx(async (exec) => {
      // The row stays locked to the end of the transaction: concurrent updates see each other's versions.
      const [row] = await exec<Row>(statements.getForUpdate, [id]);
      if (!row) throw notFound(`document ${id} not found`);
      if (patch.expectedVersion !== undefined && patch.expectedVersion !== row.version) throw versionConflict(id, row.version, patch.expectedVersion);
      const current = toDocument(row);
      const title = patch.title ?? current.title;
      const content = patch.content ?? current.content;
      const tags = patch.tags ? uniqueTags(patch.tags) : current.tags;
      const now = Math.max(this.#clock(), row.updated_at);
      const bytes = sizeOf(title, content, tags);
      const updated = await exec(statements.update, [row.seq, title, content, tags, bytes, row.bytes, now, this.#quota.maxBytes]);
      if (updated.length === 0) throw quotaExceeded(await this.#use(exec), this.#quota, bytes);
      if (patch.tags) {
        await exec(statements.deleteTags, [row.seq]);
        await exec(statements.insertTags, [row.seq, tags]);
      }
      return { ...current, title, content, tags, version: row.version + 1, updated_at: iso(now) };
    });
  }

  delete(id: string): Promise<boolean> {
    return this.#tx(async (exec) => (await exec(this.#t.statements.delete, [id])).length > 0);
  }
}
