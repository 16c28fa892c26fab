/** The tenant context of one request: who is calling, for which tenant, with that tenant's store only. */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Principal } from "../auth/principal.ts";
import type { Plan } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { UsageRow } from "../metering/usage-report.ts";
import type { TenantRow } from "../store/control/schema.ts";
import type { DocumentStore } from "../store/tenant/documents.ts";

export type TenantContext = {
  requestId: string;
  tenant: TenantRow;
  principal: Principal;
  /** The only door to data: the store of this tenant's own database file. */
  store: DocumentStore;
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

const storage = new AsyncLocalStorage<TenantContext>();

/** Runs `fn` with the context available to everything it calls (logs, metering). */
export const runWithTenant = <T>(ctx: TenantContext, fn: () => T): T => storage.run(ctx, fn);

/** The current request's tenant context, if any. */
export const currentTenant = (): TenantContext | undefined => storage.getStore();
