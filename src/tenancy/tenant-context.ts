/** Builds the tenant context of one request (HTTP) or one session (stdio): the same closures for both. */
import type { Authenticated } from "../auth/authenticate.ts";
import { actorOf } from "../auth/principal.ts";
import type { Plan } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { UsageMeter } from "../metering/usage-meter.ts";
import { usageReport } from "../metering/usage-report.ts";
import type { Services } from "../services.ts";
import type { TenantContext } from "./context.ts";

export type TenantContextOptions = {
  services: Pick<Services, "config" | "control" | "storage" | "audit">;
  auth: Authenticated;
  plan: Plan;
  meter: UsageMeter;
  requestId: string;
  signal: AbortSignal;
  /** Built on first use: most requests never log. */
  log: () => Logger;
  client: () => string;
};

export function createTenantContext({ services, auth, plan, meter, requestId, signal, log, client }: TenantContextOptions): TenantContext {
  const { tenant, principal } = auth;
  let logger: Logger | undefined;
  return {
    requestId,
    tenant,
    principal,
    // Bound to this tenant, this request's quota and deadline: a call still waiting at the deadline never runs.
    store: services.storage.store(tenant.id, { quota: { maxDocuments: plan.max_documents, maxBytes: plan.max_storage_bytes }, signal }),
    signal,
    get log() {
      return (logger ??= log());
    },
    meter: (event, n) => meter.add(tenant.id, event, n),
    plan,
    audit: (action, target, details) =>
      void services.audit
        .append({ actor: actorOf(principal), tenantId: tenant.id, action, target, client: client(), details })
        .catch((error) => log().warn("audit append failed", { error: String(error) })),
    usage: async (month) => (await usageReport({ control: services.control, pricing: services.config.pricing, month, tenant: tenant.id, meter }))[0]!,
  };
}
