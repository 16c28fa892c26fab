import { z } from "zod";
import { notFound } from "../../errors.ts";
import { documentId } from "../schemas.ts";
import { defineTool } from "../tool.ts";

export const deleteDocument = () =>
  defineTool({
    name: "delete_document",
    title: "Delete a document",
    description: "Delete a document for good.",
    scope: "documents:write",
    input: z.object({ id: documentId }),
    output: z.object({ id: z.string(), deleted: z.boolean() }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    async run(args, ctx) {
      if (!(await ctx.store.delete(args.id))) throw notFound(`document ${args.id} not found`);
      ctx.audit("document.deleted", args.id);
      return { id: args.id, deleted: true };
    },
    text: (r) => `Deleted document ${r.id}.`,
  });
