/** What the router needs from each isolation strategy (row, schema, database) of PostgreSQL tenant stores. */
import { AppError } from "../../errors.ts";
import type { PgTenantTarget } from "./pg-document-store.ts";

export type Isolation = "row" | "schema" | "database";

export interface Strategy {
  readonly isolation: Isolation;
  exists(id: string): Promise<boolean>;
  /** Where the tenant lives, for operators. */
  pathOf(id: string): string;
  /** Creates the tenant's storage atomically; already_exists if it has some. */
  create(id: string): Promise<void>;
  remove(id: string): Promise<void>;
  /** Runs `fn` against the tenant's storage, migrated and known to exist (not_found otherwise). */
  use<T>(id: string, fn: (target: PgTenantTarget) => Promise<T>): Promise<T>;
  touch(id: string): Promise<void>;
  pending(id: string): Promise<string[]>;
  /** Forgets what this instance knows of the tenant (its pool, its readiness). */
  close(id: string): Promise<void>;
  isOpen(id: string): boolean;
  readonly openCount: number;
}

export const tenantMissing = (id: string) => new AppError("not_found", `tenant ${id} has no database`);
export const tenantExists = (id: string, where: string) => new AppError("already_exists", `storage for tenant ${id} already exists (${where})`);

/** Whether an error is PostgreSQL's "no such table / schema / database" (a tenant removed under us). */
export function isMissing(error: unknown): boolean {
  const cause = String((error as { cause?: unknown })?.cause ?? (error as { code?: unknown })?.code ?? "");
  return /^(42P01|3F000|3D000)/.test(cause);
}
