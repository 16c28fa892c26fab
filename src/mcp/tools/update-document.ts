import { z } from "zod";
import type { Config } from "../../config/schema.ts";
import { invalidInput } from "../../errors.ts";
import { content, documentId, documentOut, tags, title } from "../schemas.ts";
import { defineTool } from "../tool.ts";

export const updateDocument = (limits: Config["documents"]) =>
  defineTool({
    name: "update_document",
    title: "Update a document",
    description: "Change a document's title, content and/or tags (fields left out stay as they are). Pass expected_version to refuse the change if someone else updated it first.",
    scope: "documents:write",
    input: z.object({
      id: documentId,
      title: title(limits).optional(),
      content: content(limits).optional(),
      tags: tags(limits).optional().describe("Replaces all tags."),
      expected_version: z.number().int().min(1).optional().describe("The version you read; the update fails with a conflict if the document has moved on."),
    }),
    output: documentOut,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    async run(args, ctx) {
      if (args.title === undefined && args.content === undefined && args.tags === undefined) {
        throw invalidInput("nothing to update: give at least one of title, content, tags");
      }
      return ctx.store.update(args.id, { title: args.title, content: args.content, tags: args.tags, expectedVersion: args.expected_version });
    },
    text: (d) => `Updated document ${d.id}: now version ${d.version}.`,
  });
