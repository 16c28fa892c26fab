/**
 * PostgreSQL tenant tables (pg-core), the source drizzle-kit generates drizzle/pg-row and drizzle/pg-tenant
 * from. Row-level tables (public, shared by every row tenant) carry `tenant_id` first in every key; the
 * tenant set is one tenant's tables, created inside its schema or its database. Custom SQL migrations add
 * what drizzle-kit cannot express: the text-search configuration, RLS (ENABLE + FORCE), roles, functions.
 */
import { sql } from "drizzle-orm";
import { bigint, check, customType, foreignKey, index, integer, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";

const tsvector = customType<{ data: string }>({ dataType: () => "tsvector" });

/** Characters of content the word index covers: a tsvector holds at most 1 MB, so a bound keeps any write valid. */
export const indexedContentChars = 262_144;

/** Title weighted A above content B, through the search configuration created by the custom migration. */
const searchVector = sql.raw(
  `setweight(to_tsvector('public.mcp_mt_english'::regconfig, title), 'A') || setweight(to_tsvector('public.mcp_mt_english'::regconfig, left(content, ${indexedContentChars})), 'B')`,
);

const int8 = (name: string) => bigint(name, { mode: "number" });

export const rowDocuments = pgTable(
  "documents",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").notNull(),
    /** Position for ordering and cursors, from one shared sequence (unique, increasing per tenant too). */
    seq: int8("seq").notNull().generatedAlwaysAsIdentity(),
    title: text("title").notNull(),
    content: text("content").notNull(),
    tags: text("tags").array().notNull(),
    version: integer("version").notNull(),
    bytes: int8("bytes").notNull(),
    createdAt: int8("created_at").notNull(),
    updatedAt: int8("updated_at").notNull(),
    search: tsvector("search").generatedAlwaysAs(searchVector),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex("documents_tenant_seq_idx").on(t.tenantId, t.seq),
    index("documents_search_idx").using("gin", t.search),
  ],
);

export const rowDocumentTags = pgTable(
  "document_tags",
  {
    tenantId: text("tenant_id").notNull(),
    tag: text("tag").notNull(),
    docSeq: int8("doc_seq").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.tag, t.docSeq] }),
    foreignKey({ columns: [t.tenantId, t.docSeq], foreignColumns: [rowDocuments.tenantId, rowDocuments.seq] }).onDelete("cascade"),
  ],
);

export const rowTenantStats = pgTable("tenant_stats", {
  tenantId: text("tenant_id").primaryKey(),
  documents: int8("documents").notNull(),
  bytes: int8("bytes").notNull(),
});

export const tenantDocuments = pgTable(
  "documents",
  {
    seq: int8("seq").primaryKey().generatedAlwaysAsIdentity(),
    id: text("id").notNull().unique(),
    title: text("title").notNull(),
    content: text("content").notNull(),
    tags: text("tags").array().notNull(),
    version: integer("version").notNull(),
    bytes: int8("bytes").notNull(),
    createdAt: int8("created_at").notNull(),
    updatedAt: int8("updated_at").notNull(),
    search: tsvector("search").generatedAlwaysAs(searchVector),
  },
  (t) => [index("documents_search_idx").using("gin", t.search)],
);

export const tenantDocumentTags = pgTable(
  "document_tags",
  {
    tag: text("tag").notNull(),
    docSeq: int8("doc_seq")
      .notNull()
      .references(() => tenantDocuments.seq, { onDelete: "cascade" }),
  },
  (t) => [primaryKey({ columns: [t.tag, t.docSeq] })],
);

export const tenantStats = pgTable(
  "tenant_stats",
  {
    id: integer("id").primaryKey(),
    documents: int8("documents").notNull(),
    bytes: int8("bytes").notNull(),
  },
  (t) => [check("tenant_stats_one_row", sql`${t.id} = 1`)],
);
