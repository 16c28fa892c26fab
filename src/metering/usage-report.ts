/** Usage per tenant and month with estimated cost: for the operator (`mcp-mt usage`) and the tenant itself. */
import { and, eq, type SQL } from "drizzle-orm";
import type { Config } from "../config/schema.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { usage } from "../store/control/schema.ts";
import { events, type UsageMeter } from "./usage-meter.ts";

export type UsageRow = {
  tenant: string;
  month: string;
  tool_calls: number;
  documents_created: number;
  searches: number;
  rate_limited: number;
  quota_exceeded: number;
  tools: Record<string, number>;
  estimated_cost: number;
  currency: string;
};

/** Reads usage from the control plane, adding the meter's unwritten counts when it runs in this process. */
export async function usageReport(options: { control: ControlDatabase; pricing: Config["pricing"]; month: string; tenant?: string; meter?: UsageMeter }): Promise<UsageRow[]> {
  const conditions: SQL[] = [eq(usage.month, options.month)];
  if (options.tenant) conditions.push(eq(usage.tenantId, options.tenant));
  const rows = await options.control.db.select().from(usage).where(and(...conditions));
  const counts = new Map<string, Record<string, number>>();
  for (const row of rows) {
    const byEvent = counts.get(row.tenantId) ?? {};
    byEvent[row.event] = (byEvent[row.event] ?? 0) + row.count;
    counts.set(row.tenantId, byEvent);
  }
  if (options.meter && options.tenant) {
    const pending = options.meter.pendingFor(options.tenant, options.month);
    const byEvent = counts.get(options.tenant) ?? {};
    for (const [event, n] of Object.entries(pending)) byEvent[event] = (byEvent[event] ?? 0) + n;
    counts.set(options.tenant, byEvent);
  }
  if (options.tenant && !counts.has(options.tenant)) counts.set(options.tenant, {});
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([tenant, byEvent]) => describe(tenant, options.month, byEvent, options.pricing));
}

function describe(tenant: string, month: string, byEvent: Record<string, number>, pricing: Config["pricing"]): UsageRow {
  const n = (event: string) => byEvent[event] ?? 0;
  const tools = Object.fromEntries(Object.entries(byEvent).filter(([e]) => e.startsWith("tool:")).map(([e, c]) => [e.slice(5), c]));
  const cost = n(events.toolCalls) * pricing.tool_call + n(events.documentsCreated) * pricing.document_created + n(events.searches) * pricing.search;
  return {
    tenant,
    month,
    tool_calls: n(events.toolCalls),
    documents_created: n(events.documentsCreated),
    searches: n(events.searches),
    rate_limited: n(events.rateLimited),
    quota_exceeded: n(events.quotaExceeded),
    tools,
    estimated_cost: Math.round(cost * 1e6) / 1e6,
    currency: pricing.currency,
  };
}
