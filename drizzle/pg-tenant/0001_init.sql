CREATE TABLE "document_tags" (
	"tag" text NOT NULL,
	"doc_seq" bigint NOT NULL,
	CONSTRAINT "document_tags_tag_doc_seq_pk" PRIMARY KEY("tag","doc_seq")
);
--> statement-breakpoint
CREATE TABLE "documents" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "documents_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"id" text NOT NULL,
	"title" text NOT NULL,
	"content" text NOT NULL,
	"tags" text[] NOT NULL,
	"version" integer NOT NULL,
	"bytes" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"search" "tsvector" GENERATED ALWAYS AS (setweight(to_tsvector('public.mcp_mt_english'::regconfig, title), 'A') || setweight(to_tsvector('public.mcp_mt_english'::regconfig, left(content, 262144)), 'B')) STORED,
	CONSTRAINT "documents_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "tenant_stats" (
	"id" integer PRIMARY KEY NOT NULL,
	"documents" bigint NOT NULL,
	"bytes" bigint NOT NULL,
	CONSTRAINT "tenant_stats_one_row" CHECK ("tenant_stats"."id" = 1)
);
--> statement-breakpoint
ALTER TABLE "document_tags" ADD CONSTRAINT "document_tags_doc_seq_documents_seq_fk" FOREIGN KEY ("doc_seq") REFERENCES "documents"("seq") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "documents_search_idx" ON "documents" USING gin ("search");