/**
 * Row-level tenants: shared tables in `public` with `tenant_id` first in every key, every statement filtered
 * on it, and row-level security (ENABLE + FORCE) on top, bound per transaction (tenant-transaction.ts).
 */
import { pgRowMigrations } from "../migrations.gen.ts";
import type { Sql } from "./connection.ts";
import { pendingOn, rowMigrationTable } from "./migrate.ts";
import type { PgTenantTarget } from "./pg-document-store.ts";
import { statementsFor } from "./statements.ts";
import { tenantExists, tenantMissing, type Strategy } from "./strategy.ts";
import { inTransaction, rowBinding, type Exec } from "./tenant-transaction.ts";
import { assertTenantId } from "../../tenancy/tenant-id.ts";

const statements = statementsFor(true);

export class RowTenants implements Strategy {
  readonly isolation = "row";
  readonly #sql: Sql;
  /** Tenants known to exist on this instance (checked once, forgotten on close/remove). */
  readonly #known = new Set<string>();

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  #tx<T>(id: string, fn: (exec: Exec) => Promise<T>): Promise<T> {
    return inTransaction(this.#sql, rowBinding(assertTenantId(id)), undefined, fn);
  }

  get openCount(): number {
    return this.#known.size;
  }

  isOpen(id: string): boolean {
    return this.#known.has(id);
  }

  pathOf(id: string): string {
    return `PostgreSQL row-level tables public.documents (tenant_id = '${assertTenantId(id)}')`;
  }

  async exists(id: string): Promise<boolean> {
    return (await this.#tx(id, (exec) => exec("SELECT 1 FROM tenant_stats WHERE tenant_id = $1", [id]))).length > 0;
  }

  async create(id: string): Promise<void> {
    const created = await this.#tx(id, (exec) => exec("INSERT INTO tenant_stats (tenant_id, documents, bytes) VALUES ($1, 0, 0) ON CONFLICT DO NOTHING RETURNING 1", [id]));
    if (created.length === 0) throw tenantExists(id, this.pathOf(id));
    this.#known.add(id);
  }

  async remove(id: string): Promise<void> {
    this.#known.delete(id);
    await this.#tx(id, async (exec) => {
      await exec("DELETE FROM document_tags WHERE tenant_id = $1", [id]);
      await exec("DELETE FROM documents WHERE tenant_id = $1", [id]);
      await exec("DELETE FROM tenant_stats WHERE tenant_id = $1", [id]);
    });
  }

  async use<T>(id: string, fn: (target: PgTenantTarget) => Promise<T>): Promise<T> {
    if (!this.#known.has(id)) {
      if (!(await this.exists(id))) throw tenantMissing(id);
      this.#known.add(id);
    }
    return fn({ sql: this.#sql, tenant: id, statements, binding: rowBinding(id) });
  }

  async touch(id: string): Promise<void> {
    await this.use(id, async () => undefined);
  }

  /** The row-level set is migrated at start-up for every row tenant at once: what it still lacks. */
  async pending(id: string): Promise<string[]> {
    assertTenantId(id);
    return (await pendingOn(this.#sql, pgRowMigrations, rowMigrationTable)).map((m) => m.tag);
  }

  async close(id: string): Promise<void> {
    this.#known.delete(id);
  }
}
