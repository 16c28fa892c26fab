/**
 * The tenant context of one request: who is calling, for which tenant, with that tenant's store only.
 * It is passed explicitly (the MCP server's handlers close over it) rather than through AsyncLocalStorage:
 * measured on the get_document path, AsyncLocalStorage cost ~8% of throughput, and explicit is clearer.
 */
import type { Principal } from "../auth/principal.ts";
import type { Plan } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { UsageRow } from "../metering/usage-report.ts";
import type { TenantRow } from "../store/control/schema.ts";
import type { TenantStore } from "../store/tenant-store.ts";

export type TenantContext = {
  requestId: string;
  tenant: TenantRow;
  principal: Principal;
  /** The only door to data: this tenant's own store (its file, on the worker that owns it). */
  store: TenantStore;
  /** Aborted when the request times out or the client goes away. */
  signal: AbortSignal;
  log: Logger;
  /** Counts a usage event for this tenant (e.g. documents_created). */
  meter(event: string, n?: number): void;
  /** This tenant's effective limits. */
  plan: Plan;
  /** Records an audit entry for this tenant, as this principal. */
  audit(action: string, target: string, details?: Record<string, unknown>): void;
  /** This tenant's own usage in a month (never another tenant's). */
  usage(month: string): Promise<UsageRow>;
};
