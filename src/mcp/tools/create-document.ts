import { z } from "zod";
import type { Config } from "../../config/schema.ts";
import { events } from "../../metering/usage-meter.ts";
import { content, tags, title } from "../schemas.ts";
import { defineTool } from "../tool.ts";

export const createDocument = (limits: Config["documents"]) =>
  defineTool({
    name: "create_document",
    title: "Create a document",
    description: "Store a new document (title, content, optional tags) in this workspace's private store. Returns its id and version; the document becomes searchable at once.",
    scope: "documents:write",
    input: z.object({ title: title(limits), content: content(limits), tags: tags(limits).optional() }),
    output: z.object({ id: z.string(), version: z.number().int(), created_at: z.string() }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    async run(args, ctx) {
      const doc = await ctx.store.create({ title: args.title, content: args.content, tags: args.tags ?? [] });
      ctx.meter(events.documentsCreated);
      return { id: doc.id, version: doc.version, created_at: doc.created_at };
    },
    text: (r) => `Created document ${r.id} (version ${r.version}).`,
  });
