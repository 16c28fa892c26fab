/** Tenant lifecycle: add (database file + first key), list, show, suspend, resume, change plan, remove. */
import { count, eq, inArray, sql } from "drizzle-orm";
import { existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { Acting } from "../audit/actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import type { KeyService, CreatedKey, KeyInfo } from "../auth/keys.ts";
import type { Config, Plan } from "../config/schema.ts";
import { effectivePlan } from "../limits/plan.ts";
import { AppError, invalidInput, notFound } from "../errors.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { apiKeys, tenants, usage, type TenantRow } from "../store/control/schema.ts";
import { unlimited } from "../store/tenant/documents.ts";
import type { TenantBackend } from "../store/tenant-store.ts";
import type { Isolation } from "../store/control/schema.ts";
import type { PgIsolation } from "../config/schema.ts";
import { KeyVault } from "./key-vault.ts";
import { assertTenantId } from "./tenant-id.ts";
import { TenantFileTemplate } from "./tenant-template.ts";

export type TenantInfo = {
  id: string;
  name: string;
  plan: string;
  status: "active" | "suspended" | "moving";
  overrides: Record<string, number>;
  keys: number;
  encrypted: boolean;
  /** Where the documents live: file (libSQL), row, schema or database (PostgreSQL). */
  isolation: Isolation;
  created_at: string;
  updated_at: string;
};

/** One row of a bulk provisioning request. */
export type NewTenant = { id: string; name?: string; plan?: string; isolation?: PgIsolation };

/** Tenants created per control-plane transaction in bulk provisioning, and tenant files created at once. */
const bulkBatch = 500;
const bulkFileConcurrency = 8;

/** A tenant database's state: ok, or damaged with what was found (until it is restored from a backup). */
export type DatabaseHealth = { state: "ok" } | { state: "damaged"; problem: string };

export type TenantDetail = TenantInfo & { limits: Plan; database: { path: string; bytes: number; documents: number | null; health: DatabaseHealth }; api_keys: KeyInfo[] };

/** One tenant's integrity check: problems found ([] when ok). */
export type TenantCheck = { id: string; ok: boolean; problems: string[] };

export type TenantServiceOptions = {
  config: Config;
  control: ControlDatabase;
  registry: TenantBackend;
  keys: KeyService;
  clock: () => number;
  audit: AuditLog;
  vault: KeyVault | null;
};

export class TenantService {
  readonly #o: TenantServiceOptions;

  constructor(options: TenantServiceOptions) {
    this.#o = options;
  }

  /** Creates a tenant, its database file and a first API key (returned once). */
  async add(input: NewTenant, by: Acting): Promise<{ tenant: TenantInfo; key: CreatedKey }> {
    const { id, plan, name, isolation } = this.#checked(input);
    if (await this.#row(id)) throw new AppError("already_exists", `tenant ${id} already exists`);
    if (isolation === "file" && (await this.#o.registry.exists(id))) {
      throw new AppError("already_exists", `a database file for ${id} exists at ${this.#o.registry.pathOf(id)} without a tenant; move it away or restore it`);
    }
    const now = this.#o.clock();
    // With a master key, the database is encrypted from its first byte with a key of its own.
    const dataKey = this.#o.vault && isolation === "file" ? KeyVault.newDataKey() : null;
    const wrappedKey = dataKey ? await this.#o.vault!.wrap(dataKey, id) : null;
    await this.#createStorage(id, dataKey, isolation);
    const { insert, created } = this.#o.keys.prepare(id, { label: "default" });
    try {
      await this.#o.control.db.batch([
        // A reused id starts clean, even if usage of the old tenant was flushed after its removal.
        this.#o.control.db.delete(usage).where(eq(usage.tenantId, id)),
        this.#o.control.db.insert(tenants).values({ id, name, plan, status: "active", overrides: {}, createdAt: now, updatedAt: now, wrappedKey, isolation }),
        insert,
      ]);
    } catch (error) {
      await this.#o.registry.remove(id);
      throw error;
    }
    await this.#record(by, id, "tenant.created", { plan, name, first_key: created.id, encrypted: wrappedKey !== null, isolation });
    return { tenant: await this.get(id), key: created };
  }

  /**
   * Creates many tenants, each with a database file and a first key, all or nothing: everything is checked
   * first (ids, names, plans, duplicates, existing tenants and files); files are created a few at a time;
   * control-plane rows go in one transaction per batch; if anything fails, what was created is removed.
   */
  async addMany(inputs: NewTenant[], by: Acting): Promise<{ tenant: TenantInfo; key: CreatedKey }[]> {
    const checked = inputs.map((input, i) => {
      try {
        return this.#checked(input);
      } catch (error) {
        throw error instanceof AppError ? new AppError(error.code, `tenant ${i + 1} of ${inputs.length}: ${error.message}`) : error;
      }
    });
    const seen = new Set<string>();
    for (const { id } of checked) {
      if (seen.has(id)) throw invalidInput(`tenant ${id} is listed twice`);
      seen.add(id);
    }
    const existing = new Set((await this.#o.control.db.select({ id: tenants.id }).from(tenants)).map((r) => r.id));
    const taken = checked.filter(({ id }) => existing.has(id)).map(({ id }) => id);
    if (taken.length) throw new AppError("already_exists", `${taken.length} of these tenants already exist: ${taken.slice(0, 10).join(", ")}${taken.length > 10 ? ", …" : ""}; nothing was created`);
    const present = await Promise.all(checked.map(({ id, isolation }) => (isolation === "file" ? this.#o.registry.exists(id) : false)));
    const orphans = checked.filter((_, i) => present[i]).map(({ id }) => id);
    if (orphans.length) throw new AppError("already_exists", `database files exist without a tenant for ${orphans.slice(0, 10).join(", ")}${orphans.length > 10 ? ", …" : ""}; move them away or restore them; nothing was created`);

    const created: { tenant: TenantInfo; key: CreatedKey }[] = [];
    const files: string[] = [];
    const rows: string[] = [];
    let template: TenantFileTemplate | undefined;
    try {
      for (let start = 0; start < checked.length; start += bulkBatch) {
        const batch = checked.slice(start, start + bulkBatch);
        const now = this.#o.clock();
        const prepared = await Promise.all(
          batch.map(async (t) => {
            const dataKey = this.#o.vault && t.isolation === "file" ? KeyVault.newDataKey() : null;
            return { ...t, dataKey, wrappedKey: dataKey ? await this.#o.vault!.wrap(dataKey, t.id) : null, ...this.#o.keys.prepare(t.id, { label: "default" }) };
          }),
        );
        // PostgreSQL tenants: their schemas or databases, a few at a time (row tenants need nothing created).
        const onPostgres = prepared.filter((t) => t.isolation !== "file");
        for (let i = 0; i < onPostgres.length; i += bulkFileConcurrency) {
          const group = onPostgres.slice(i, i + bulkFileConcurrency);
          const results = await Promise.allSettled(group.map((t) => this.#createStorage(t.id, null, t.isolation)));
          results.forEach((r, j) => r.status === "fulfilled" && files.push(group[j]!.id));
          const failed = results.findIndex((r) => r.status === "rejected");
          if (failed >= 0) throw new AppError("internal", `creating the storage of ${group[failed]!.id} failed: ${String((results[failed] as PromiseRejectedResult).reason?.message ?? results[failed])}`);
        }
        // Plaintext files are copies of one migrated template; encrypted ones (a key each) go through the registry.
        template ??= prepared.some((t) => !t.dataKey && t.isolation === "file") ? await TenantFileTemplate.create(dirname(this.#o.registry.pathOf(prepared[0]!.id)), { synchronous: this.#o.config.tenancy.synchronous, busyTimeoutMs: this.#o.config.tenancy.busy_timeout_ms }) : undefined;
        for (const t of prepared.filter((t) => !t.dataKey && t.isolation === "file")) {
          template!.copyTo(this.#o.registry.pathOf(t.id));
          files.push(t.id);
        }
        template?.flush();
        const encrypted = prepared.filter((t) => t.dataKey);
        for (let i = 0; i < encrypted.length; i += bulkFileConcurrency) {
          const group = encrypted.slice(i, i + bulkFileConcurrency);
          const results = await Promise.allSettled(group.map((t) => this.#o.registry.create(t.id, t.dataKey)));
          results.forEach((r, j) => r.status === "fulfilled" && files.push(group[j]!.id));
          const failed = results.findIndex((r) => r.status === "rejected");
          if (failed >= 0) throw new AppError("internal", `creating the database of ${group[failed]!.id} failed: ${String((results[failed] as PromiseRejectedResult).reason?.message ?? results[failed])}`);
        }
        const db = this.#o.control.db;
        const ids = batch.map((t) => t.id);
        await db.batch([
          db.delete(usage).where(inArray(usage.tenantId, ids)),
          db.insert(tenants).values(prepared.map((t) => ({ id: t.id, name: t.name, plan: t.plan, status: "active" as const, overrides: {}, createdAt: now, updatedAt: now, wrappedKey: t.wrappedKey, isolation: t.isolation }))),
          ...prepared.map((t) => t.insert),
        ]);
        rows.push(...ids);
        for (const t of prepared) {
          created.push({ tenant: { id: t.id, name: t.name, plan: t.plan, status: "active", overrides: {}, keys: 1, encrypted: t.wrappedKey !== null, isolation: t.isolation, created_at: new Date(now).toISOString(), updated_at: new Date(now).toISOString() }, key: t.created });
        }
      }
    } catch (error) {
      // All or nothing: an operator re-running the same list must not trip over half of it.
      for (let i = 0; i < rows.length; i += bulkBatch) {
        const ids = rows.slice(i, i + bulkBatch);
        await this.#o.control.db.batch([this.#o.control.db.delete(apiKeys).where(inArray(apiKeys.tenantId, ids)), this.#o.control.db.delete(tenants).where(inArray(tenants.id, ids))]);
      }
      for (const id of files) await this.#o.registry.remove(id).catch(() => undefined);
      if (error instanceof AppError) throw new AppError(error.code, `${error.message}; nothing was created`);
      throw new AppError("internal", `bulk provisioning failed: ${error instanceof Error ? error.message : String(error)}; nothing was created`, { cause: error });
    } finally {
      template?.dispose();
    }
    await this.#o.audit.appendMany(
      created.map(({ tenant, key }) => ({ actor: by.actor, tenantId: tenant.id, action: "tenant.created", target: tenant.id, details: { plan: tenant.plan, name: tenant.name, first_key: key.id, encrypted: tenant.encrypted, bulk: true } })),
    );
    return created;
  }

  /** A new tenant's id, plan and name, checked (the id before anything touches a path). */
  #checked(input: NewTenant): { id: string; plan: string; name: string; isolation: Isolation } {
    const id = assertTenantId(input.id);
    const plan = this.#plan(input.plan || "free");
    const name = (input.name || id).trim();
    if (name.length === 0 || name.length > 200) throw invalidInput(`the name of tenant ${id} must be 1-200 characters`);
    return { id, plan, name, isolation: this.#isolation(input, plan) };
  }

  /** Where a new tenant's documents go: its own flag, else its plan's, else storage.isolation; always a file on libSQL. */
  #isolation(input: NewTenant, plan: string): Isolation {
    const { config } = this.#o;
    if (this.#o.control.dialect === "libsql") {
      if (input.isolation) throw invalidInput(`--isolation ${input.isolation} needs PostgreSQL (storage.url); without it every tenant is a libSQL file`);
      return "file";
    }
    return input.isolation ?? config.plans[plan]?.isolation ?? config.storage.isolation;
  }

  /** Creates a tenant's storage where its isolation says (the libSQL registry takes the encryption key). */
  #createStorage(id: string, dataKey: string | null, isolation: Isolation): Promise<void> {
    const storage = this.#o.registry as TenantBackend & { create(id: string, key: string | null, isolation?: PgIsolation): Promise<void> };
    return isolation === "file" ? storage.create(id, dataKey) : storage.create(id, null, isolation);
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
    if (info.isolation !== "file") await this.#o.registry.exists(id);
    const path = this.#o.registry.pathOf(id);
    const bytes = info.isolation !== "file" ? 0 : ["", "-wal"].reduce((sum, suffix) => sum + (existsSync(path + suffix) ? statSync(path + suffix).size : 0), 0);
    let docs: number | null = null;
    let health: DatabaseHealth = { state: "ok" };
    try {
      docs = (await this.#o.registry.store(id, { quota: unlimited }).storage()).documents;
    } catch (error) {
      if (!(error instanceof AppError && error.code === "storage_damaged")) throw error;
      health = { state: "damaged", problem: String(error.cause ?? error.message) };
    }
    const known = this.#o.registry.damaged.get(id);
    if (known && health.state === "ok") health = { state: "damaged", problem: known.cause };
    const limits = effectivePlan(this.#o.config, info);
    return { ...info, limits, database: { path, bytes, documents: docs, health }, api_keys: await this.#o.keys.list(id) };
  }

  /**
   * Runs PRAGMA integrity_check and the full-text index check on one tenant's database, or on every tenant's.
   * A damaged file is remembered (shown by `tenant show`, /metrics, the TUI); a clean one is cleared.
   */
  async check(id?: string): Promise<TenantCheck[]> {
    const ids = id !== undefined ? [(await this.#require(id)).id] : (await this.#o.control.db.select({ id: tenants.id }).from(tenants).orderBy(tenants.id)).map((r) => r.id);
    const results: TenantCheck[] = [];
    for (const tenant of ids) {
      let problems: string[];
      try {
        problems = (await this.#o.registry.exists(tenant)) ? await this.#o.registry.check(tenant) : ["the database file is missing"];
      } catch (error) {
        if (!(error instanceof AppError && error.code === "storage_damaged")) throw error;
        problems = [String(error.cause ?? error.message)];
      }
      if (problems.length) this.#o.registry.damaged.mark(tenant, problems[0]!);
      else this.#o.registry.damaged.clear(tenant);
      results.push({ id: tenant, ok: problems.length === 0, problems });
    }
    return results;
  }

  suspend = (id: string, by: Acting) => this.#setStatus(id, "suspended", by);
  resume = (id: string, by: Acting) => this.#setStatus(id, "active", by);

  async setPlan(id: string, plan: string, by: Acting): Promise<TenantInfo> {
    const row = await this.#require(id);
    await this.#o.control.db.update(tenants).set({ plan: this.#plan(plan), updatedAt: this.#o.clock() }).where(eq(tenants.id, id));
    await this.#record(by, id, "tenant.plan_changed", { from: row.plan, to: plan });
    return this.get(id);
  }

  /** Sets per-tenant limit overrides on top of the plan (`clear` first removes every existing one). */
  async setOverrides(id: string, overrides: Record<string, number>, clear: boolean, by: Acting): Promise<TenantInfo> {
    const row = await this.#require(id);
    const merged = { ...(clear ? {} : row.overrides), ...overrides };
    await this.#o.control.db.update(tenants).set({ overrides: merged, updatedAt: this.#o.clock() }).where(eq(tenants.id, id));
    await this.#record(by, id, "tenant.limits_changed", { from: row.overrides, to: merged });
    return this.get(id);
  }

  /**
   * Deletes the tenant, its keys, its usage (counts, quota consumption, billed tool names) and its database
   * file: an id used again later starts clean. Audit entries stay: they are the record of what happened.
   */
  async remove(id: string, by: Acting): Promise<{ id: string; removed: true }> {
    await this.#require(id);
    await this.#o.control.db.batch([
      this.#o.control.db.delete(apiKeys).where(eq(apiKeys.tenantId, id)),
      this.#o.control.db.delete(usage).where(eq(usage.tenantId, id)),
      this.#o.control.db.delete(tenants).where(eq(tenants.id, id)),
    ]);
    await this.#o.registry.remove(id);
    await this.#record(by, id, "tenant.removed", {});
    return { id, removed: true };
  }

  async #setStatus(id: string, status: "active" | "suspended", by: Acting): Promise<TenantInfo> {
    const row = await this.#require(id);
    await this.#o.control.db.update(tenants).set({ status, updatedAt: this.#o.clock() }).where(eq(tenants.id, id));
    if (row.status !== status) await this.#record(by, id, status === "suspended" ? "tenant.suspended" : "tenant.resumed", {});
    return this.get(id);
  }

  #record(by: Acting, id: string, action: string, details: Record<string, unknown>): Promise<void> {
    return this.#o.audit.append({ actor: by.actor, tenantId: id, action, target: id, details });
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
    isolation: row.isolation,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}
