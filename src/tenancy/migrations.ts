/** Brings every tenant to the current schema, whatever its strategy, reporting per tenant. */
import { controlMigrations, pgControlMigrations, pgRowMigrations, pgTenantMigrations, tenantMigrations } from "../store/migrations.gen.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { tenants, type Isolation } from "../store/control/schema.ts";
import type { TenantBackend } from "../store/tenant-store.ts";

export type TenantMigrationReport = {
  tenant: string;
  /** Where the tenant lives: `file` (libSQL) or a PostgreSQL strategy. */
  isolation: Isolation;
  status: "current" | "migrated" | "pending" | "missing" | "failed";
  migrations: string[];
  error?: string;
};

/** The newest migration of each set this binary carries, for the storage in use. */
export type LatestMigrations = { control: string; tenant: Partial<Record<Isolation, string>> };

export class MigrationService {
  readonly #o: { control: ControlDatabase; registry: TenantBackend };

  constructor(options: { control: ControlDatabase; registry: TenantBackend }) {
    this.#o = options;
  }

  /**
   * The newest tenant migration for the storage in use, in one line (readiness and `migrate` print it): on
   * PostgreSQL the row strategy's shared tables have their own set, schema and database tenants share one.
   */
  get latest(): string {
    const { tenant } = this.latestSets;
    return this.#o.control.dialect === "postgres" ? `row ${tenant.row}, schema and database ${tenant.schema}` : tenant.file!;
  }

  /** The newest migration of each set this binary carries for the storage in use. */
  get latestSets(): LatestMigrations {
    const tag = (set: { tag: string }[]) => set.at(-1)!.tag;
    if (this.#o.control.dialect === "postgres") {
      return { control: tag(pgControlMigrations), tenant: { row: tag(pgRowMigrations), schema: tag(pgTenantMigrations), database: tag(pgTenantMigrations) } };
    }
    return { control: tag(controlMigrations), tenant: { file: tag(tenantMigrations) } };
  }

  async run(options: { dryRun: boolean }): Promise<TenantMigrationReport[]> {
    const rows = await this.#o.control.db.select({ id: tenants.id, isolation: tenants.isolation }).from(tenants).orderBy(tenants.id);
    const reports: TenantMigrationReport[] = [];
    for (const row of rows) reports.push(await this.#one(row.id, row.isolation, options.dryRun));
    return reports;
  }

  async #one(id: string, isolation: Isolation, dryRun: boolean): Promise<TenantMigrationReport> {
    const { registry } = this.#o;
    try {
      if (!(await registry.exists(id))) {
        // pathOf names the file, schema or database (exists() taught the backend the tenant's strategy).
        const where = registry.pathOf(id);
        return { tenant: id, isolation, status: "missing", migrations: [], error: isolation === "file" ? `no database file at ${where}` : `${where} is missing` };
      }
      const pending = await registry.pending(id);
      if (pending.length === 0) return { tenant: id, isolation, status: "current", migrations: [] };
      if (dryRun) return { tenant: id, isolation, status: "pending", migrations: pending };
      // Opening through the registry applies the pending migrations.
      await registry.touch(id);
      return { tenant: id, isolation, status: "migrated", migrations: pending };
    } catch (error) {
      return { tenant: id, isolation, status: "failed", migrations: [], error: error instanceof Error ? error.message : String(error) };
    }
  }
}
