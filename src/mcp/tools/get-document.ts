import { z } from "zod";
import { notFound } from "../../errors.ts";
import { documentId, documentOut } from "../schemas.ts";
import { defineTool } from "../tool.ts";

export const getDocument = () =>
  defineTool({
    name: "get_document",
    title: "Get a document",
    description: "Fetch one document by id, with its full content, tags and version.",
    scope: "documents:read",
    input: z.object({ id: documentId }),
    output: documentOut,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    async run(args, ctx) {
      const doc = await ctx.store.get(args.id);
      // Same answer whether the id never existed or belongs to someone else: nothing to learn from it.
      if (!doc) throw notFound(`document ${args.id} not found`);
      return doc;
    },
    text: (d) => `# ${d.title}\n\n${d.content}\n\n(id ${d.id}, version ${d.version}${d.tags.length ? `, tags: ${d.tags.join(", ")}` : ""})`,
  });
