/**
 * Schema-per-tenant: the tenant's tables in schema `t_<id>` of the main database, reached by setting
 * search_path for each transaction only. `create` builds the schema, its tables and indexes in one
 * transaction (nothing is left on failure); `remove` drops the schema.
 */
import { pgTenantMigrations } from "../migrations.gen.ts";
import { pgError, type Sql } from "./connection.ts";
import { applyOn, pendingOn, tenantMigrationTable, underMigrationLock, type Conn } from "./migrate.ts";
import { quoteIdent, tenantSchema } from "./names.ts";
import type { PgTenantTarget } from "./pg-document-store.ts";
import { statementsFor } from "./statements.ts";
import { isMissing, tenantExists, tenantMissing, type Strategy } from "./strategy.ts";
import { schemaBinding } from "./tenant-transaction.ts";

const statements = statementsFor(false);

export class SchemaTenants implements Strategy {
  readonly isolation = "schema";
  readonly #sql: Sql;
  /** Tenants whose schema this instance found present and migrated. */
  readonly #ready = new Map<string, Promise<void>>();

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  get openCount(): number {
    return this.#ready.size;
  }

  isOpen(id: string): boolean {
    return this.#ready.has(id);
  }

  pathOf(id: string): string {
    return `PostgreSQL schema ${quoteIdent(tenantSchema(id))}`;
  }

  async exists(id: string): Promise<boolean> {
    return (await this.#sql.unsafe("SELECT 1 FROM pg_namespace WHERE nspname = $1", [tenantSchema(id)])).length > 0;
  }

  async create(id: string): Promise<void> {
    const schema = tenantSchema(id);
    try {
      await this.#sql.begin(async (tx) => {
        await tx.unsafe(`CREATE SCHEMA ${quoteIdent(schema)}`);
        await tx.unsafe("SELECT set_config('search_path', $1, true)", [quoteIdent(schema)]);
        await applyOn(tx as unknown as Conn, pgTenantMigrations, tenantMigrationTable(schema));
      });
    } catch (error) {
      // 42P06: the schema exists; 23505: another instance created it at the same moment.
      const code = (error as { code?: string }).code;
      if (code === "42P06" || code === "23505") throw tenantExists(id, this.pathOf(id));
      throw pgError(error);
    }
    this.#ready.set(id, Promise.resolve());
  }

  async remove(id: string): Promise<void> {
    this.#ready.delete(id);
    await this.#sql.unsafe(`DROP SCHEMA IF EXISTS ${quoteIdent(tenantSchema(id))} CASCADE`).catch((error) => Promise.reject(pgError(error)));
  }

  async use<T>(id: string, fn: (target: PgTenantTarget) => Promise<T>): Promise<T> {
    const schema = tenantSchema(id);
    await this.#readied(id);
    try {
      return await fn({ sql: this.#sql, tenant: id, statements, binding: schemaBinding(schema) });
    } catch (error) {
      if (!isMissing(error)) throw error;
      this.#ready.delete(id);
      throw tenantMissing(id);
    }
  }

  /** Checks once per instance that the schema exists and applies what its migrations lack (under a lock). */
  #readied(id: string): Promise<void> {
    let ready = this.#ready.get(id);
    if (!ready) {
      ready = this.#migrate(id).then(() => undefined);
      this.#ready.set(id, ready);
      ready.catch(() => this.#ready.delete(id));
    }
    return ready;
  }

  async #migrate(id: string): Promise<string[]> {
    if (!(await this.exists(id))) throw tenantMissing(id);
    const schema = tenantSchema(id);
    const where = tenantMigrationTable(schema);
    if ((await pendingOn(this.#sql, pgTenantMigrations, where)).length === 0) return [];
    return underMigrationLock(this.#sql, `schema:${schema}`, async (conn) => {
      await conn.unsafe("SELECT set_config('search_path', $1, true)", [quoteIdent(schema)] as never[]);
      return applyOn(conn, pgTenantMigrations, where);
    });
  }

  async touch(id: string): Promise<void> {
    await this.#readied(id);
  }

  async pending(id: string): Promise<string[]> {
    if (!(await this.exists(id))) throw tenantMissing(id);
    return (await pendingOn(this.#sql, pgTenantMigrations, tenantMigrationTable(tenantSchema(id)))).map((m) => m.tag);
  }

  async close(id: string): Promise<void> {
    this.#ready.delete(id);
  }
}
