/**
 * PostgreSQL tenant storage: one TenantStorage that dispatches each tenant to its isolation strategy.
 *
 * `openPostgresTenantStorage(options)` opens the shared pool, applies the row-level migration set (drizzle/
 * pg-row, under an advisory lock: N instances starting together migrate once) and returns the router.
 * Options:
 * - `url`            postgres://user@host:port/db — the main database (control plane, row tenants, tenant
 *                    schemas; tenant databases are named after it). The role needs CREATEDB (database
 *                    strategy) and CREATEROLE (the first migration creates the NOLOGIN roles mcp_mt_tenant and
 *                    mcp_mt_search and grants them to itself); it should not be superuser.
 * - `isolation`      "row" | "schema" | "database": the strategy of tenants created without one (storage.isolation).
 * - `strategyOf(id)` the strategy of an existing tenant (the control plane's tenants.isolation); asked once per
 *                    tenant per instance, then cached until `forget(id)`, `remove(id)` or `close(id)`.
 * - `poolMax`        connections of the shared pool (row and schema tenants) (storage.pool_max, default 10).
 * - `sql`            a shared pool to use instead of opening one (e.g. the control plane's); not closed here.
 * - `maxLifetimeS`   connections are recycled after this many seconds (storage.max_lifetime_s, default 600):
 *                    each tenant schema a connection touches adds catalog cache that PostgreSQL never frees.
 * - `databasePoolMax`  connections per tenant-database pool (storage.database_pool_max, default 2).
 * - `databasePoolsMax` tenant-database pools open at once (storage.database_pools_max, default 16); the least
 *                    recently used idle pool is closed beyond it. One instance holds at most
 *                    poolMax + databasePoolsMax × databasePoolMax connections: keep the sum over all instances
 *                    under the server's max_connections.
 * - `clock`          injectable clock (created_at / updated_at).
 */
import { AppError } from "../../errors.ts";
import { DamagedTenants } from "../../tenancy/damaged-tenants.ts";
import { pgRowMigrations } from "../migrations.gen.ts";
import { storeOverMessages, type StoreBinding, type StoreCalls, type TenantStorage, type TenantStore } from "../tenant-store.ts";
import { databaseOf, openPool, pgError, type Sql } from "./connection.ts";
import { DatabaseTenants } from "./database-tenants.ts";
import { applyOn, rowMigrationTable, underMigrationLock } from "./migrate.ts";
import type { DocumentRecord } from "../document-records.ts";
import { PgDocumentStore } from "./pg-document-store.ts";
import { keepOnlyPgRecords, readPgPage, writePgRecords } from "./pg-records.ts";
import { RowTenants } from "./row-tenants.ts";
import { SchemaTenants } from "./schema-tenants.ts";
import type { Isolation, Strategy } from "./strategy.ts";

export type { Isolation };

export type PostgresTenantStorageOptions = {
  url: string;
  isolation: Isolation;
  strategyOf: (id: string) => Promise<Isolation>;
  poolMax?: number;
  sql?: Sql;
  maxLifetimeS?: number;
  databasePoolMax?: number;
  databasePoolsMax?: number;
  clock?: () => number;
};

/** Opens the shared pool, migrates the row-level set, and returns the router. */
export async function openPostgresTenantStorage(options: PostgresTenantStorageOptions): Promise<PostgresTenantStorage> {
  const owned = !options.sql;
  const sql = options.sql ?? openPool(options.url, { max: options.poolMax ?? 10, maxLifetimeS: options.maxLifetimeS ?? 600 });
  try {
    await underMigrationLock(sql, "pg-row", (conn) => applyOn(conn, pgRowMigrations, rowMigrationTable));
  } catch (error) {
    if (owned) await sql.end({ timeout: 1 }).catch(() => undefined);
    throw pgError(error);
  }
  return new PostgresTenantStorage(sql, owned, options);
}

export class PostgresTenantStorage implements TenantStorage {
  readonly #sql: Sql;
  readonly #owned: boolean;
  readonly #o: PostgresTenantStorageOptions;
  readonly #strategies: Record<Isolation, Strategy>;
  readonly database: DatabaseTenants;
  /** Each tenant's strategy, once known on this instance. */
  readonly #isolation = new Map<string, Isolation>();

  constructor(sql: Sql, owned: boolean, options: PostgresTenantStorageOptions) {
    this.#sql = sql;
    this.#owned = owned;
    this.#o = options;
    this.database = new DatabaseTenants(sql, {
      url: options.url,
      mainDatabase: databaseOf(options.url),
      poolMax: options.databasePoolMax ?? 2,
      poolsMax: options.databasePoolsMax ?? 16,
      maxLifetimeS: options.maxLifetimeS ?? 600,
    });
    this.#strategies = { row: new RowTenants(sql), schema: new SchemaTenants(sql), database: this.database };
  }

  /** The tenant's strategy: remembered, or asked of the control plane once. */
  async isolationOf(id: string): Promise<Isolation> {
    const known = this.#isolation.get(id);
    if (known) return known;
    const isolation = await this.#o.strategyOf(id);
    if (!(isolation in this.#strategies)) throw new AppError("internal", `tenant ${id} has isolation "${isolation}", which is not a PostgreSQL strategy`);
    this.#isolation.set(id, isolation);
    return isolation;
  }

  async #strategy(id: string): Promise<Strategy> {
    return this.#strategies[await this.isolationOf(id)];
  }

  /** Where the tenant lives, with its strategy looked up (pathOf answers from what this instance knows). */
  async locate(id: string): Promise<{ isolation: Isolation; where: string }> {
    const strategy = await this.#strategy(id);
    return { isolation: strategy.isolation, where: strategy.pathOf(id) };
  }

  /** Damage is a libSQL file's condition; PostgreSQL reports its own faults as errors. Kept empty for the shared views. */
  readonly damaged = new DamagedTenants();

  /** Statement CPU is PostgreSQL's, not this process's: nothing to observe (cpu_ms_per_minute applies to libSQL tenants). */
  observeBusy(_observer: (tenant: string, ms: number) => void): void {}

  figures(): { workers: number; detached: number; open: number; inflight: number } {
    return { workers: 0, detached: 0, open: this.openCount, inflight: 0 };
  }

  /** The tenant's storage exists and is at the current schema; answers the problems found (none: []). */
  async check(id: string): Promise<string[]> {
    if (!(await this.exists(id))) return [`its PostgreSQL storage (${this.pathOf(id)}) is missing`];
    const pending = await this.pending(id);
    return pending.length ? [`migrations not applied yet: ${pending.join(", ")} (applied on first use, or run mcp-mt migrate)`] : [];
  }

  /** Drops the remembered strategy of a tenant (after it moved to another one). */
  forget(id: string): void {
    this.#isolation.delete(id);
  }

  get openCount(): number {
    return Object.values(this.#strategies).reduce((n, s) => n + s.openCount, 0);
  }

  isOpen(id: string): boolean {
    const isolation = this.#isolation.get(id);
    return isolation !== undefined && this.#strategies[isolation].isOpen(id);
  }

  pathOf(id: string): string {
    const isolation = this.#isolation.get(id);
    return isolation ? this.#strategies[isolation].pathOf(id) : `PostgreSQL (${this.#o.isolation} strategy unless the tenant says otherwise)`;
  }

  async exists(id: string): Promise<boolean> {
    return (await this.#strategy(id)).exists(id).catch((error) => Promise.reject(pgError(error)));
  }

  /** Creates the tenant's storage with `isolation` (default: the configured one). Per-tenant keys are libSQL's. */
  async create(id: string, encryptionKey: string | null = null, isolation: Isolation = this.#o.isolation): Promise<void> {
    if (encryptionKey) {
      throw new AppError("invalid_input", `tenant ${id}: per-tenant encryption keys apply to libSQL files; on PostgreSQL encrypt the server's storage instead`);
    }
    const strategy = this.#strategies[isolation];
    if (!strategy) throw new AppError("invalid_input", `isolation "${isolation}" is not one of row, schema, database`);
    await strategy.create(id).catch((error) => Promise.reject(pgError(error)));
    this.#isolation.set(id, isolation);
  }

  async remove(id: string): Promise<void> {
    const strategy = await this.#strategy(id);
    await strategy.remove(id).catch((error) => Promise.reject(pgError(error)));
    this.#isolation.delete(id);
  }

  store(id: string, binding: StoreBinding): TenantStore {
    const call = <T>(message: StoreCalls): Promise<T> =>
      this.#strategy(id).then((strategy) =>
        strategy.use(id, (target) => {
          const store = new PgDocumentStore(target, binding.quota, binding.signal, this.#o.clock);
          return (store[message.op] as (...args: unknown[]) => Promise<T>).apply(store, message.args);
        }),
      ).catch((error) => Promise.reject(pgError(error)));
    return storeOverMessages(call);
  }

  /** The tenant's strategy, or the one named (`tenant move` works on both sides of a move). */
  #side(id: string, isolation?: Isolation): Promise<Strategy> {
    return isolation ? Promise.resolve(this.#strategies[isolation]) : this.#strategy(id);
  }

  /** The tenant's documents in a stable (insertion) order, a batch at a time (from `isolation` if named). */
  async *exportRecords(id: string, batch = 500, isolation?: Isolation): AsyncGenerator<DocumentRecord[]> {
    for (let after = 0; ; ) {
      // One `use` per batch: a tenant-database pool is held only while a batch is read.
      const page = await (await this.#side(id, isolation)).use(id, (target) => readPgPage(target, after, batch)).catch((error) => Promise.reject(pgError(error)));
      if (page.records.length === 0) return;
      after = page.next;
      yield page.records;
    }
  }

  /** Upserts documents by id, keeping id, version, timestamps and size; tags and storage totals follow. */
  async importRecords(id: string, records: DocumentRecord[], isolation?: Isolation): Promise<void> {
    await (await this.#side(id, isolation)).use(id, (target) => writePgRecords(target, records)).catch((error) => Promise.reject(pgError(error)));
  }

  /** Deletes the tenant's documents whose ids are not in `ids`; answers how many went. */
  async keepOnlyRecords(id: string, ids: string[], isolation?: Isolation): Promise<number> {
    return (await this.#side(id, isolation)).use(id, (target) => keepOnlyPgRecords(target, ids)).catch((error) => Promise.reject(pgError(error)));
  }

  /** Whether the tenant has storage in the named strategy (whatever the control plane records). */
  async existsIn(id: string, isolation: Isolation): Promise<boolean> {
    return this.#strategies[isolation].exists(id).catch((error) => Promise.reject(pgError(error)));
  }

  /** Creates the tenant's storage in the named strategy without routing the tenant to it (a move's new side). */
  async createIn(id: string, isolation: Isolation): Promise<void> {
    await this.#strategies[isolation].create(id).catch((error) => Promise.reject(pgError(error)));
  }

  /** Removes the tenant's storage from the named strategy (a move's old side, or a failed move's new one). */
  async removeIn(id: string, isolation: Isolation): Promise<void> {
    await this.#strategies[isolation].remove(id).catch((error) => Promise.reject(pgError(error)));
  }

  /** Forgets every remembered strategy: the control plane changed (a tenant may have moved). */
  forgetAll(): void {
    this.#isolation.clear();
  }

  async touch(id: string): Promise<void> {
    await (await this.#strategy(id)).touch(id).catch((error) => Promise.reject(pgError(error)));
  }

  async pending(id: string): Promise<string[]> {
    return (await this.#strategy(id)).pending(id).catch((error) => Promise.reject(pgError(error)));
  }

  async backupTo(id: string): Promise<void> {
    throw new AppError("invalid_input", `tenant ${id} lives in PostgreSQL (${this.pathOf(id)}): back it up with PostgreSQL's tools (pg_dump)`);
  }

  async close(id: string): Promise<void> {
    const isolation = this.#isolation.get(id);
    this.#isolation.delete(id);
    if (isolation) await this.#strategies[isolation].close(id);
  }

  async closeAll(): Promise<void> {
    this.#isolation.clear();
    await this.database.closeAll();
    if (this.#owned) await this.#sql.end({ timeout: 5 });
  }
}
