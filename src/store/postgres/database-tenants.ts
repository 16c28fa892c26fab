/**
 * Database-per-tenant: each tenant its own database `<maindb>_t_<id>`, copied with CREATE DATABASE … TEMPLATE
 * from `<maindb>_template` (created and migrated once, under an advisory lock), reached through a small pool
 * per tenant database kept in an LRU under a global budget (database-pools.ts).
 */
import { AppError } from "../../errors.ts";
import { pgTenantMigrations } from "../migrations.gen.ts";
import { openPool, pgError, type Sql } from "./connection.ts";
import { DatabasePools } from "./database-pools.ts";
import { applyOn, pendingOn, tenantMigrationTable, underMigrationLock } from "./migrate.ts";
import { quoteIdent, templateDatabase, tenantDatabase } from "./names.ts";
import type { PgTenantTarget } from "./pg-document-store.ts";
import { statementsFor } from "./statements.ts";
import { isMissing, tenantExists, tenantMissing, type Strategy } from "./strategy.ts";

const statements = statementsFor(false);
/** A tenant database records its migrations where drizzle does by default. */
const migrationTable = tenantMigrationTable("drizzle");

export type DatabaseTenantsOptions = { url: string; mainDatabase: string; poolMax: number; poolsMax: number; maxLifetimeS: number };

export class DatabaseTenants implements Strategy {
  readonly isolation = "database";
  readonly #sql: Sql;
  readonly #o: DatabaseTenantsOptions;
  readonly #pools: DatabasePools;
  readonly #ready = new Map<string, Promise<void>>();
  #template: Promise<void> | undefined;

  constructor(sql: Sql, options: DatabaseTenantsOptions) {
    this.#sql = sql;
    this.#o = options;
    this.#pools = new DatabasePools({ url: options.url, poolMax: options.poolMax, poolsMax: options.poolsMax, maxLifetimeS: options.maxLifetimeS });
  }

  /** Tenant-database pools open now. */
  get openCount(): number {
    return this.#pools.size;
  }

  isOpen(id: string): boolean {
    return this.#pools.has(this.#name(id));
  }

  #name(id: string): string {
    return tenantDatabase(this.#o.mainDatabase, id);
  }

  pathOf(id: string): string {
    return `PostgreSQL database ${quoteIdent(this.#name(id))}`;
  }

  async exists(id: string): Promise<boolean> {
    return (await this.#sql.unsafe("SELECT 1 FROM pg_database WHERE datname = $1", [this.#name(id)])).length > 0;
  }

  async create(id: string): Promise<void> {
    const name = this.#name(id);
    await this.ensureTemplate();
    const template = templateDatabase(this.#o.mainDatabase);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#sql.unsafe(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`);
        break;
      } catch (error) {
        const code = (error as { code?: string }).code;
        // 42P04: the database exists; 23505: another instance created it at the same moment.
        if (code === "42P04" || code === "23505") throw tenantExists(id, this.pathOf(id));
        // 55006: another session is reading the template (an instance migrating it): wait and try again.
        if (code === "55006" && attempt < 20) {
          await Bun.sleep(100);
          continue;
        }
        throw pgError(error);
      }
    }
    this.#ready.set(id, Promise.resolve());
  }

  async remove(id: string): Promise<void> {
    const name = this.#name(id);
    this.#ready.delete(id);
    await this.#pools.close(name);
    await this.#sql.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch((error) => Promise.reject(pgError(error)));
  }

  async use<T>(id: string, fn: (target: PgTenantTarget) => Promise<T>): Promise<T> {
    const name = this.#name(id);
    try {
      return await this.#pools.use(name, async (sql) => {
        await this.#readied(id, sql);
        return fn({ sql, tenant: id, statements, binding: [] });
      });
    } catch (error) {
      if (!isMissing(error)) throw error;
      this.#ready.delete(id);
      void this.#pools.close(name).catch(() => undefined);
      throw tenantMissing(id);
    }
  }

  /** Once per instance: the database is there and migrated (what the template lacked when it was copied). */
  #readied(id: string, sql: Sql): Promise<void> {
    let ready = this.#ready.get(id);
    if (!ready) {
      ready = this.#migrate(sql).catch((error) => Promise.reject(isMissing(error) ? tenantMissing(id) : pgError(error)));
      this.#ready.set(id, ready);
      ready.catch(() => this.#ready.delete(id));
    }
    return ready;
  }

  async #migrate(sql: Sql): Promise<void> {
    if ((await pendingOn(sql, pgTenantMigrations, migrationTable)).length === 0) return;
    await migrateDatabase(sql, "tenant");
  }

  async touch(id: string): Promise<void> {
    await this.use(id, async () => undefined);
  }

  async pending(id: string): Promise<string[]> {
    if (!(await this.exists(id))) throw tenantMissing(id);
    return this.#pools.use(this.#name(id), async (sql) => (await pendingOn(sql, pgTenantMigrations, migrationTable)).map((m) => m.tag));
  }

  async close(id: string): Promise<void> {
    this.#ready.delete(id);
    await this.#pools.close(this.#name(id));
  }

  async closeAll(): Promise<void> {
    await this.#pools.closeAll();
  }

  /**
   * The migrated template, created once: under an advisory lock of the main database, so instances starting
   * together create it once; migrated again when this binary has migrations it lacks.
   */
  ensureTemplate(): Promise<void> {
    this.#template ??= this.#buildTemplate().catch((error) => {
      this.#template = undefined;
      throw error instanceof AppError ? error : pgError(error);
    });
    return this.#template;
  }

  async #buildTemplate(): Promise<void> {
    const template = templateDatabase(this.#o.mainDatabase);
    const conn = await this.#sql.reserve();
    try {
      await conn.unsafe("SELECT pg_advisory_lock(hashtext($1))", ["mcp-mt:migrate:template"]);
      try {
        const found = await conn.unsafe("SELECT 1 FROM pg_database WHERE datname = $1", [template]);
        if (found.length === 0) await conn.unsafe(`CREATE DATABASE ${quoteIdent(template)}`);
        // One connection, closed before any tenant copies the template (a copy needs it unused).
        const sql = openPool(this.#o.url, { max: 1, maxLifetimeS: 60, database: template });
        try {
          await migrateDatabase(sql, "template");
        } finally {
          await sql.end({ timeout: 5 });
        }
      } finally {
        await conn.unsafe("SELECT pg_advisory_unlock(hashtext($1))", ["mcp-mt:migrate:template"]).catch(() => undefined);
      }
    } finally {
      conn.release();
    }
  }
}

/** Applies the tenant set to a whole database (the template, or a tenant database it was copied from). */
function migrateDatabase(sql: Sql, lock: string): Promise<string[]> {
  return underMigrationLock(sql, lock, (conn) => applyOn(conn, pgTenantMigrations, migrationTable));
}
