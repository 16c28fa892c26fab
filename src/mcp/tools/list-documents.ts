import { z } from "zod";
import type { Config } from "../../config/schema.ts";
import { pageSize, summaryOut } from "../schemas.ts";
import { defineTool } from "../tool.ts";

export const listDocuments = (limits: Config["documents"]) =>
  defineTool({
    name: "list_documents",
    title: "List documents",
    description: "List documents newest first, without their content. Pass next_cursor back as cursor for the next page; filter by one tag.",
    scope: "documents:read",
    input: z.object({
      limit: pageSize(limits, "Documents per page").optional(),
      cursor: z.string().max(200).optional().describe("next_cursor from the previous page."),
      tag: z.string().max(limits.max_tag_chars).optional().describe("Only documents carrying this tag."),
    }),
    output: z.object({ documents: z.array(summaryOut), next_cursor: z.string().nullable() }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    async run(args, ctx) {
      return ctx.store.list({ limit: args.limit ?? limits.default_page_size, cursor: args.cursor, tag: args.tag });
    },
    text: (r) =>
      r.documents.length === 0
        ? "No documents."
        : `${r.documents.map((d) => `- ${d.id}: ${d.title}${d.tags.length ? ` [${d.tags.join(", ")}]` : ""}`).join("\n")}${r.next_cursor ? `\n\nMore: call again with cursor "${r.next_cursor}".` : ""}`,
  });
