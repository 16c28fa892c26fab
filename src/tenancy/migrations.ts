/** Brings every tenant file to the current schema, reporting per tenant. */
import { tenantMigrations } from "../store/migrations.gen.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { tenants } from "../store/control/schema.ts";
import type { TenantBackend } from "../store/tenant-store.ts";

export type TenantMigrationReport = { tenant: string; status: "current" | "migrated" | "pending" | "missing" | "failed"; migrations: string[]; error?: string };

export class MigrationService {
  readonly #o: { control: ControlDatabase; registry: TenantBackend };

  constructor(options: { control: ControlDatabase; registry: TenantBackend }) {
    this.#o = options;
  }

  /** The newest tenant migration this binary carries. */
  get latest(): string {
    return tenantMigrations.at(-1)!.tag;
  }

  async run(options: { dryRun: boolean }): Promise<TenantMigrationReport[]> {
    const rows = await this.#o.control.db.select({ id: tenants.id }).from(tenants).orderBy(tenants.id);
    const reports: TenantMigrationReport[] = [];
    for (const { id } of rows) reports.push(await this.#one(id, options.dryRun));
    return reports;
  }

  async #one(id: string, dryRun: boolean): Promise<TenantMigrationReport> {
    const { registry } = this.#o;
    if (!(await registry.exists(id))) return { tenant: id, status: "missing", migrations: [], error: `no database file at ${registry.pathOf(id)}` };
    try {
      const pending = await registry.pending(id);
      if (pending.length === 0) return { tenant: id, status: "current", migrations: [] };
      if (dryRun) return { tenant: id, status: "pending", migrations: pending };
      // Opening through the registry applies the pending migrations.
      await registry.touch(id);
      return { tenant: id, status: "migrated", migrations: pending };
    } catch (error) {
      return { tenant: id, status: "failed", migrations: [], error: error instanceof Error ? error.message : String(error) };
    }
  }
}
