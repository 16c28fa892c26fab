/** zod pieces shared by the document tools; limits come from the config so errors name the field and the limit. */
import { z } from "zod";
import type { Config } from "../config/schema.ts";
import { byteLength } from "../store/tenant/documents.ts";

type Limits = Config["documents"];

export const documentId = z.string().min(1).max(64).describe("The document id returned by create_document or list_documents (e.g. doc_3hV…).");

export const title = (l: Limits) => z.string().trim().min(1, "title must not be empty").max(l.max_title_chars, `title must be at most ${l.max_title_chars} characters`).describe(`Title, 1-${l.max_title_chars} characters.`);

export const content = (l: Limits) =>
  z
    .string()
    .refine((text) => byteLength(text) <= l.max_content_bytes, `content must be at most ${l.max_content_bytes} bytes (UTF-8)`)
    .describe(`Body text (markdown welcome), at most ${l.max_content_bytes} bytes.`);

export const tags = (l: Limits) =>
  z
    .array(
      z
        .string()
        .trim()
        .min(1, "a tag must not be empty")
        .max(l.max_tag_chars, `each tag must be at most ${l.max_tag_chars} characters`)
        .regex(/^[^\u0000-\u001f]+$/, "tags must not contain control characters"),
    )
    .max(l.max_tags, `at most ${l.max_tags} tags`)
    .describe(`Up to ${l.max_tags} tags of at most ${l.max_tag_chars} characters, used to filter list_documents.`);

export const pageSize = (l: Limits, what: string) =>
  z.number().int().min(1, "limit must be at least 1").max(l.max_page_size, `limit must be at most ${l.max_page_size}`).describe(`${what} (1-${l.max_page_size}, default ${l.default_page_size}).`);

export const documentOut = z.object({
  id: z.string(),
  title: z.string(),
  content: z.string(),
  tags: z.array(z.string()),
  version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const summaryOut = z.object({
  id: z.string(),
  title: z.string(),
  tags: z.array(z.string()),
  version: z.number().int(),
  bytes: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
