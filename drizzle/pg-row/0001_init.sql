CREATE TABLE "document_tags" (
	"tenant_id" text NOT NULL,
	"tag" text NOT NULL,
	"doc_seq" bigint NOT NULL,
	CONSTRAINT "document_tags_tenant_id_tag_doc_seq_pk" PRIMARY KEY("tenant_id","tag","doc_seq")
);
--> statement-breakpoint
CREATE TABLE "documents" (
	"tenant_id" text NOT NULL,
	"id" text NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "documents_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"title" text NOT NULL,
	"content" text NOT NULL,
	"tags" text[] NOT NULL,
	"version" integer NOT NULL,
	"bytes" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"search" "tsvector" GENERATED ALWAYS AS (setweight(to_tsvector('public.mcp_mt_english'::regconfig, title), 'A') || setweight(to_tsvector('public.mcp_mt_english'::regconfig, left(content, 262144)), 'B')) STORED,
	CONSTRAINT "documents_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "tenant_stats" (
	"tenant_id" text PRIMARY KEY NOT NULL,
	"documents" bigint NOT NULL,
	"bytes" bigint NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "documents_tenant_seq_idx" ON "documents" USING btree ("tenant_id","seq");--> statement-breakpoint
ALTER TABLE "document_tags" ADD CONSTRAINT "document_tags_tenant_id_doc_seq_documents_tenant_id_seq_fk" FOREIGN KEY ("tenant_id","doc_seq") REFERENCES "public"."documents"("tenant_id","seq") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "documents_search_idx" ON "documents" USING gin ("search");