import { z } from "zod";
import type { Config } from "../../config/schema.ts";
import { events } from "../../metering/usage-meter.ts";
import { searchBounds } from "../../store/tenant/search-query.ts";
import { pageSize } from "../schemas.ts";
import { defineTool } from "../tool.ts";

export const searchDocuments = (limits: Config["documents"]) =>
  defineTool({
    name: "search_documents",
    title: "Search documents",
    description:
      `Full-text search over titles and contents, best matches first (title matches weigh more). Up to ${searchBounds.maxTerms} words, all required; ` +
      `end a word with * for prefix search (at least ${searchBounds.minPrefixChars} letters before the *). Terms with symbols (C++, #tag, 50%, 🚀) must appear as written. ` +
      `Words in ${searchBounds.candidates}+ documents only filter when rarer words are present, and alone rank only the newest ${searchBounds.candidates} matches: add a rarer word to reach older documents. ` +
      "Snippets mark matches in **bold**; every * and \\ from the document itself is escaped with a backslash (\\*, \\\\), so an unescaped ** is always a match marker.",
    scope: "documents:read",
    input: z.object({
      query: z.string().min(1, "query must not be empty").max(limits.max_query_chars, `query must be at most ${limits.max_query_chars} characters`).describe("Words to look for."),
      limit: pageSize(limits, "Most results to return").optional(),
    }),
    output: z.object({
      results: z.array(
        z.object({ id: z.string(), title: z.string(), tags: z.array(z.string()), version: z.number().int(), created_at: z.string(), updated_at: z.string(), snippet: z.string(), score: z.number() }),
      ),
      count: z.number().int(),
    }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    async run(args, ctx) {
      const results = await ctx.store.search(args.query, args.limit ?? limits.default_page_size);
      ctx.meter(events.searches);
      return { results, count: results.length };
    },
    text: (r) => (r.count === 0 ? "No matches." : r.results.map((h) => `- ${h.id}: ${h.title}\n  ${h.snippet.replaceAll("\n", " ")}`).join("\n")),
  });
