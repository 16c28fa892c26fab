/**
 * The operator's mutating actions, one definition used three ways: directly on the files (no server
 * running), by the admin API inside a running server, and by the CLI through that API.
 */
import type { CreatedKey, KeyInfo } from "../auth/keys.ts";
import type { Scope } from "../auth/scopes.ts";
import type { Config } from "../config/schema.ts";
import type { Services } from "../services.ts";
import type { NewTenant, TenantCheck, TenantInfo } from "../tenancy/tenants.ts";

export type Operator = {
  /** Where the actions go: straight to the files, or through the running server's admin API. */
  via: "files" | "admin-api";
  config: Config;
  clock: () => number;
  tenants: {
    add(input: NewTenant): Promise<{ tenant: TenantInfo; key: CreatedKey }>;
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

/** The actions on this process's services (the CLI with no server, or the server answering its admin API), done as `actor`. */
export function localOperator(services: Pick<Services, "config" | "clock" | "tenants" | "keys">, actor: string, afterChange: () => void = () => undefined): Operator {
  const { tenants, keys } = services;
  const by = { actor };
  const changed = <T>(work: Promise<T>) => work.finally(afterChange);
  return {
    via: "files",
    config: services.config,
    clock: services.clock,
    tenants: {
      add: (input) => changed(tenants.add(input, by)),
      addMany: async (inputs) => ({ tenants: await changed(tenants.addMany(inputs, by)) }),
      suspend: (id) => changed(tenants.suspend(id, by)),
      resume: (id) => changed(tenants.resume(id, by)),
      setPlan: (id, plan) => changed(tenants.setPlan(id, plan, by)),
      setOverrides: (id, overrides, clear) => changed(tenants.setOverrides(id, overrides, clear ?? false, by)),
      remove: (id) => changed(tenants.remove(id, by)),
      check: async (id) => ({ results: await tenants.check(id) }),
    },
    keys: {
      create: (tenantId, options) => changed(keys.create(tenantId, options ?? {}, by)),
      rotate: (keyId, graceMs) => changed(keys.rotate(keyId, graceMs, by)),
      revoke: (keyId) => changed(keys.revoke(keyId, by)),
    },
  };
}
