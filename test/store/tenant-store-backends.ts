/**
 * The tenant-store backends the contract suite runs against: libSQL (the registry, inline) and PostgreSQL
 * with each isolation strategy, each on its own fresh database.
 */
import { AppError } from "../../src/errors.ts";
import { openPostgresTenantStorage, type Isolation, type PostgresTenantStorage } from "../../src/store/postgres/postgres-tenant-storage.ts";
import type { TenantStorage } from "../../src/store/tenant-store.ts";
import { TenantRegistry } from "../../src/tenancy/registry.ts";
import { pgDatabase } from "../helpers/postgres.ts";
import { tempDir } from "../helpers/tmp.ts";

export type OpenBackend = { storage: TenantStorage; url?: string; close(): Promise<void> };
export type Backend = { name: string; open(): Promise<OpenBackend> };

export const libsqlBackend: Backend = {
  name: "libSQL",
  open: async () => {
    const storage = new TenantRegistry({ dataDir: tempDir(), maxOpen: 16, sqlite: { synchronous: "NORMAL", busyTimeoutMs: 5000 }, workers: 0 });
    return { storage, close: () => storage.closeAll() };
  },
};

/** PostgreSQL storage whose tenants all use `isolation` (the control plane's answer, here a constant). */
export async function openPg(isolation: Isolation, options: { poolMax?: number; databasePoolsMax?: number } = {}): Promise<{ storage: PostgresTenantStorage; url: string; name: string; close(): Promise<void> }> {
  const db = pgDatabase(`c_${isolation}`);
  const storage = await openPostgresTenantStorage({ url: db.url, isolation, strategyOf: async () => isolation, poolMax: options.poolMax ?? 4, databasePoolsMax: options.databasePoolsMax, maxLifetimeS: 60 });
  return { storage, url: db.url, name: db.name, close: () => storage.closeAll() };
}

export const pgBackend = (isolation: Isolation): Backend => ({ name: `PostgreSQL ${isolation}`, open: () => openPg(isolation) });

export const allBackends: Backend[] = [libsqlBackend, pgBackend("row"), pgBackend("schema"), pgBackend("database")];

/** The settled error of a promise (bun's `rejects` never settles on some promises: see COMMON notes). */
export const failure = (promise: Promise<unknown>) => promise.then(() => null, (error: unknown) => error as AppError);
