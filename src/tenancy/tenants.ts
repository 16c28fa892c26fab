/** Tenant lifecycle: add (database file + first key), list, show, suspend, resume, change plan, remove. */
import { count, eq, sql } from "drizzle-orm";
import { existsSync, statSync } from "node:fs";
import type { AuditLog } from "../audit/audit-log.ts";
import type { KeyService, CreatedKey, KeyInfo } from "../auth/keys.ts";
import type { Config, Plan } from "../config/schema.ts";
import { effectivePlan } from "../limits/plan.ts";
import { AppError, invalidInput, notFound } from "../errors.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { apiKeys, tenants, type TenantRow } from "../store/control/schema.ts";
import { unlimited } from "../store/tenant/documents.ts";
import type { TenantRegistry } from "./registry.ts";
import { KeyVault } from "./key-vault.ts";
import { assertTenantId } from "./tenant-id.ts";

export type TenantInfo = {
  id: string;
  name: string;
  plan: string;
  status: "active" | "suspended";
  overrides: Record<string, number>;
  keys: number;
  encrypted: boolean;
  created_at: string;
  updated_at: string;
};

export type TenantDetail = TenantInfo & { limits: Plan; database: { path: string; bytes: number; documents: number }; api_keys: KeyInfo[] };

export type TenantServiceOptions = {
  config: Config;
  control: ControlDatabase;
  registry: TenantRegistry;
  keys: KeyService;
  clock: () => number;
  audit: AuditLog;
  actor: string;
  vault: KeyVault | null;
};

export class TenantService {
  readonly #o: TenantServiceOptions;

  constructor(options: TenantServiceOptions) {
    this.#o = options;
  }

  /** Creates a tenant, its database file and a first API key (returned once). */
  async add(input: { id: string; name?: string; plan?: string }): Promise<{ tenant: TenantInfo; key: CreatedKey }> {
    const id = assertTenantId(input.id);
    const plan = this.#plan(input.plan ?? "free");
    const name = (input.name ?? id).trim();
    if (name.length === 0 || name.length > 200) throw invalidInput("tenant name must be 1-200 characters");
    if (await this.#row(id)) throw new AppError("already_exists", `tenant ${id} already exists`);
    if (this.#o.registry.exists(id)) {
      throw new AppError("already_exists", `a database file for ${id} exists at ${this.#o.registry.pathOf(id)} without a tenant; move it away or restore it`);
    }
    const now = this.#o.clock();
    // With a master key, the database is encrypted from its first byte with a key of its own.
    const dataKey = this.#o.vault ? KeyVault.newDataKey() : null;
    const wrappedKey = dataKey ? await this.#o.vault!.wrap(dataKey, id) : null;
    await this.#o.registry.create(id, dataKey);
    const { insert, created } = this.#o.keys.prepare(id, { label: "default" });
    try {
      await this.#o.control.db.batch([
        this.#o.control.db.insert(tenants).values({ id, name, plan, status: "active", overrides: {}, createdAt: now, updatedAt: now, wrappedKey }),
        insert,
      ]);
    } catch (error) {
      await this.#o.registry.remove(id);
      throw error;
    }
    await this.#record(id, "tenant.created", { plan, name, first_key: created.id, encrypted: wrappedKey !== null });
    return { tenant: await this.get(id), key: created };
  }

  async list(): Promise<TenantInfo[]> {
    const rows = await this.#o.control.db
      // Raw SQL: inside the subquery drizzle would render tenants.id unqualified, binding it to api_keys.id.
      .select({ tenant: tenants, keys: sql<number>`(SELECT count(*) FROM api_keys k WHERE k.tenant_id = tenants.id AND k.revoked_at IS NULL)` })
      .from(tenants)
      .orderBy(tenants.id);
    return rows.map((row) => describe(row.tenant, row.keys));
  }

  /** One tenant, or a not-found error. */
  async get(id: string): Promise<TenantInfo> {
    const row = await this.#require(id);
    const [keys] = await this.#o.control.db.select({ n: count() }).from(apiKeys).where(sql`${apiKeys.tenantId} = ${id} AND ${apiKeys.revokedAt} IS NULL`);
    return describe(row, keys?.n ?? 0);
  }

  /** The tenant row, or null; used on the request path. */
  async find(id: string): Promise<TenantRow | null> {
    return (await this.#row(id)) ?? null;
  }

  async show(id: string): Promise<TenantDetail> {
    const info = await this.get(id);
    const path = this.#o.registry.pathOf(id);
    const bytes = ["", "-wal"].reduce((sum, suffix) => sum + (existsSync(path + suffix) ? statSync(path + suffix).size : 0), 0);
    const docs = (await this.#o.registry.store(id, { quota: unlimited }).storage()).documents;
    const limits = effectivePlan(this.#o.config, info);
    return { ...info, limits, database: { path, bytes, documents: docs }, api_keys: await this.#o.keys.list(id) };
  }

  suspend = (id: string) => this.#setStatus(id, "suspended");
  resume = (id: string) => this.#setStatus(id, "active");

  async setPlan(id: string, plan: string): Promise<TenantInfo> {
    const row = await this.#require(id);
    await this.#o.control.db.update(tenants).set({ plan: this.#plan(plan), updatedAt: this.#o.clock() }).where(eq(tenants.id, id));
    await this.#record(id, "tenant.plan_changed", { from: row.plan, to: plan });
    return this.get(id);
  }

  /** Sets per-tenant limit overrides on top of the plan (`clear` first removes every existing one). */
  async setOverrides(id: string, overrides: Record<string, number>, clear = false): Promise<TenantInfo> {
    const row = await this.#require(id);
    const merged = { ...(clear ? {} : row.overrides), ...overrides };
    await this.#o.control.db.update(tenants).set({ overrides: merged, updatedAt: this.#o.clock() }).where(eq(tenants.id, id));
    await this.#record(id, "tenant.limits_changed", { from: row.overrides, to: merged });
    return this.get(id);
  }

  /** Deletes the tenant, its keys and its database file. */
  async remove(id: string): Promise<{ id: string; removed: true }> {
    await this.#require(id);
    await this.#o.control.db.batch([
      this.#o.control.db.delete(apiKeys).where(eq(apiKeys.tenantId, id)),
      this.#o.control.db.delete(tenants).where(eq(tenants.id, id)),
    ]);
    await this.#o.registry.remove(id);
    await this.#record(id, "tenant.removed", {});
    return { id, removed: true };
  }

  async #setStatus(id: string, status: "active" | "suspended"): Promise<TenantInfo> {
    const row = await this.#require(id);
    await this.#o.control.db.update(tenants).set({ status, updatedAt: this.#o.clock() }).where(eq(tenants.id, id));
    if (row.status !== status) await this.#record(id, status === "suspended" ? "tenant.suspended" : "tenant.resumed", {});
    return this.get(id);
  }

  #record(id: string, action: string, details: Record<string, unknown>): Promise<void> {
    return this.#o.audit.append({ actor: this.#o.actor, tenantId: id, action, target: id, details });
  }

  #plan(plan: string): string {
    if (!Object.hasOwn(this.#o.config.plans, plan)) {
      throw invalidInput(`unknown plan ${JSON.stringify(plan)}; plans: ${Object.keys(this.#o.config.plans).join(", ")}`);
    }
    return plan;
  }

  async #row(id: string): Promise<TenantRow | undefined> {
    const [row] = await this.#o.control.db.select().from(tenants).where(eq(tenants.id, assertTenantId(id)));
    return row;
  }

  async #require(id: string): Promise<TenantRow> {
    const row = await this.#row(id);
    if (!row) throw notFound(`tenant ${id} does not exist`);
    return row;
  }
}

function describe(row: TenantRow, keys: number): TenantInfo {
  return {
    id: row.id,
    name: row.name,
    plan: row.plan,
    status: row.status,
    overrides: row.overrides,
    keys,
    encrypted: row.wrappedKey !== null,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}
