/** A tenant's effective limits: its plan from the config, with its per-tenant overrides on top. */
import { defaultPlans, type Config, type Plan } from "../config/schema.ts";
import type { TenantRow } from "../store/control/schema.ts";

export function effectivePlan(config: Config, tenant: Pick<TenantRow, "plan" | "overrides">): Plan {
  const base = config.plans[tenant.plan] ?? config.plans.free ?? defaultPlans.free!;
  return { ...base, ...tenant.overrides };
}
