import { z } from "zod";
import { invalidInput } from "../../errors.ts";
import { monthOf, nextMonthStart } from "../../metering/usage-meter.ts";
import { defineTool } from "../tool.ts";

const quota = z.object({ limit: z.number(), used: z.number(), remaining: z.number() });

export const getUsageReport = (clock: () => number) =>
  defineTool({
    name: "get_usage_report",
    title: "Usage report",
    description: "This workspace's own usage for a month (default: the current one): tool calls by tool, documents created, searches, rate-limited requests, estimated cost, and what remains of its quotas.",
    scope: "usage:read",
    input: z.object({ month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "month must be YYYY-MM, e.g. 2026-11").optional().describe("YYYY-MM (UTC); default: the current month.") }),
    output: z.object({
      month: z.string(),
      tool_calls: z.number(),
      documents_created: z.number(),
      searches: z.number(),
      rate_limited: z.number(),
      tools: z.record(z.string(), z.number()),
      estimated_cost: z.number(),
      currency: z.string(),
      quotas: z.object({ monthly_tool_calls: quota, documents: quota, storage_bytes: quota }),
      resets_at: z.string(),
    }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    async run(args, ctx) {
      const current = monthOf(clock());
      const month = args.month ?? current;
      if (month > current) throw invalidInput(`month ${month} is in the future`);
      const [row, storage] = await Promise.all([ctx.usage(month), ctx.store.storage()]);
      const left = (limit: number, used: number) => ({ limit, used, remaining: Math.max(0, limit - used) });
      return {
        month,
        tool_calls: row.tool_calls,
        documents_created: row.documents_created,
        searches: row.searches,
        rate_limited: row.rate_limited,
        tools: row.tools,
        estimated_cost: row.estimated_cost,
        currency: row.currency,
        quotas: {
          monthly_tool_calls: left(ctx.plan.monthly_tool_calls, month === current ? row.tool_calls : 0),
          documents: left(ctx.plan.max_documents, storage.documents),
          storage_bytes: left(ctx.plan.max_storage_bytes, storage.bytes),
        },
        resets_at: nextMonthStart(current).toISOString(),
      };
    },
    text: (r) =>
      [
        `Usage in ${r.month}: ${r.tool_calls} tool calls, ${r.documents_created} documents created, ${r.searches} searches, ${r.rate_limited} rate-limited requests.`,
        `Estimated cost: ${r.estimated_cost} ${r.currency}.`,
        `Remaining: ${r.quotas.monthly_tool_calls.remaining} tool calls this month (resets ${r.resets_at}), ${r.quotas.documents.remaining} documents, ${r.quotas.storage_bytes.remaining} bytes of storage.`,
      ].join("\n"),
  });
