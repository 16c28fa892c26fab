/**
 * The operator's mutating actions, one definition used three ways: directly on the files (no server
 * running), by the admin API inside a running server, and by the CLI through that API.
 */
import type { CreatedKey, KeyInfo } from "../auth/keys.ts";
import type { Scope } from "../auth/scopes.ts";
import type { Config } from "../config/schema.ts";
import type { Runtime } from "../runtime.ts";
import type { NewTenant, TenantCheck, TenantInfo } from "../tenancy/tenants.ts";

export type Operator = {
  /** Where the actions go: straight to the files, or through the running server's admin API. */
  via: "files" | "admin-api";
  config: Config;
  clock: () => number;
  tenants: {
    add(input: { id: string; name?: string; plan?: string }): Promise<{ tenant: TenantInfo; key: CreatedKey }>;
    /** Bulk provisioning: every tenant with a first key, all or nothing. */
    addMany(inputs: NewTenant[]): Promise<{ tenants: { tenant: TenantInfo; key: CreatedKey }[] }>;
    suspend(id: string): Promise<TenantInfo>;
    resume(id: string): Promise<TenantInfo>;
    setPlan(id: string, plan: string): Promise<TenantInfo>;
    setOverrides(id: string, overrides: Record<string, number>, clear?: boolean): Promise<TenantInfo>;
    remove(id: string): Promise<{ id: string; removed: true }>;
    /** Integrity checks of one tenant's database, or of every tenant's (read-only, but the server runs them itself). */
    check(id?: string): Promise<{ results: TenantCheck[] }>;
  };
  keys: {
    create(tenantId: string, options?: { label?: string; scopes?: Scope[]; expiresAt?: number | null }): Promise<CreatedKey>;
    rotate(keyId: string, graceMs: number): Promise<{ created: CreatedKey; old: KeyInfo }>;
    revoke(keyId: string): Promise<KeyInfo>;
  };
};

/** The actions on this process's runtime (the CLI with no server, or the server answering its admin API). */
export function localOperator(runtime: Runtime, actor = runtime.actor, afterChange: () => void = () => undefined): Operator {
  const services = runtime.servicesAs(actor);
  const changed = <T>(work: Promise<T>) => work.finally(afterChange);
  return {
    via: "files",
    config: runtime.config,
    clock: runtime.clock,
    tenants: {
      add: (input) => changed(services.tenants.add(input)),
      addMany: async (inputs) => ({ tenants: await changed(services.tenants.addMany(inputs)) }),
      suspend: (id) => changed(services.tenants.suspend(id)),
      resume: (id) => changed(services.tenants.resume(id)),
      setPlan: (id, plan) => changed(services.tenants.setPlan(id, plan)),
      setOverrides: (id, overrides, clear) => changed(services.tenants.setOverrides(id, overrides, clear)),
      remove: (id) => changed(services.tenants.remove(id)),
      check: async (id) => ({ results: await services.tenants.check(id) }),
    },
    keys: {
      create: (tenantId, options) => changed(services.keys.create(tenantId, options)),
      rotate: (keyId, graceMs) => changed(services.keys.rotate(keyId, graceMs)),
      revoke: (keyId) => changed(services.keys.revoke(keyId)),
    },
  };
}
