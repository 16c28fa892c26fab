/** Tenant-database tables: documents, their tags, and (in SQL migrations) the FTS5 index. */
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const documents = sqliteTable(
  "documents",
  {
    /** Stable rowid for the external-content FTS5 index and for cursors. */
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    /** Opaque random id shown to clients. */
    id: text("id").notNull().unique(),
    title: text("title").notNull(),
    content: text("content").notNull(),
    tags: text("tags", { mode: "json" }).$type<string[]>().notNull(),
    version: integer("version").notNull(),
    /** UTF-8 bytes of title, content and tags: what the storage quota counts. */
    bytes: integer("bytes").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
);

export const documentTags = sqliteTable(
  "document_tags",
  {
    tag: text("tag").notNull(),
    docSeq: integer("doc_seq")
      .notNull()
      .references(() => documents.seq, { onDelete: "cascade" }),
  },
  (table) => [primaryKey({ columns: [table.tag, table.docSeq] }), index("document_tags_doc_idx").on(table.docSeq)],
);

export type DocumentRow = typeof documents.$inferSelect;
