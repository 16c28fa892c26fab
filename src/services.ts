/** Builds every service once from a loaded config: `serve`, `stdio`, the admin API and the CLI share this. */
import { eq } from "drizzle-orm";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readSecretFile } from "./config/secret-file.ts";
import { AppError } from "./errors.ts";
import { tenants } from "./store/control/schema.ts";
import { BackupService } from "./tenancy/backups.ts";
import { EncryptionService } from "./tenancy/encryption.ts";
import { KeyVault } from "./tenancy/key-vault.ts";
import { AuditLog } from "./audit/audit-log.ts";
import { KeyService } from "./auth/keys.ts";
import { checkPepper, resolvePepper, type Pepper } from "./auth/pepper.ts";
import type { LoadedConfig } from "./config/load.ts";
import type { Config } from "./config/schema.ts";
import { openControl, type ControlDatabase } from "./store/control/db.ts";
import { openPostgresControl } from "./store/control/postgres.ts";
import { openPostgresTenantStorage } from "./store/postgres/postgres-tenant-storage.ts";
import type { TenantBackend } from "./store/tenant-store.ts";
import type { SqliteOptions } from "./store/open.ts";
import { MigrationService } from "./tenancy/migrations.ts";
import { defaultWorkers, TenantRegistry } from "./tenancy/registry.ts";
import type { Logger } from "./log.ts";
import { TenantService } from "./tenancy/tenants.ts";
import { oauthServices, type OAuthServices } from "./oauth/oauth-services.ts";

export type Services = {
  config: Config;
  /** The API-key pepper and where it came from (checked against the control plane's fingerprint at open). */
  pepper: Pepper;
  audit: AuditLog;
  /** Wraps tenants' data keys; null when no master key is configured (nothing is encrypted). */
  vault: KeyVault | null;
  control: ControlDatabase;
  /** The libSQL registry: tenant files (backups, encryption and the stall monitor are about files). */
  registry: TenantRegistry;
  /** Where tenants' documents live: the libSQL registry, or PostgreSQL when storage.url is set. */
  storage: TenantBackend;
  keys: KeyService;
  tenants: TenantService;
  migrations: MigrationService;
  encryption: EncryptionService;
  backups: BackupService;
  /** The OAuth services that live in the control plane (members, clients, grants). */
  oauth: OAuthServices;
  /** Wall-clock time (what is recorded and shown); intervals use the monotonic clock. */
  clock: () => number;
  close(): Promise<void>;
};

export const sqliteOptions = (config: Config): SqliteOptions => ({
  synchronous: config.tenancy.synchronous,
  busyTimeoutMs: config.tenancy.busy_timeout_ms,
  groupCommit: config.tenancy.group_commit,
});

/** Store workers for a config: 0 in the config means one per CPU. */
export const storeWorkers = (config: Config) => config.tenancy.workers || defaultWorkers();

export type ServicesOptions = {
  /** The wall clock, injectable so tests run time-based logic without sleeping. */
  clock?: () => number;
  /** Store worker threads (the server); 0 (CLI commands) runs tenant database work inline. */
  workers?: number;
  /** Most tenant files open at once, when the server derives it from its descriptor limit. */
  maxOpen?: number;
  log?: Logger;
  /**
   * false: a command that only reads or changes existing data refuses a data directory without a control
   * plane instead of creating one.
   */
  create?: boolean;
  /** false only for `pepper reset`, which repairs a pepper that does not match the recorded fingerprint. */
  checkPepper?: boolean;
};

/**
 * The one place where storage is opened (the control plane, then the tenant registry on top) and every
 * service is built, for `serve`, `stdio`, the admin API and every CLI command alike. Each service gets only
 * what it needs; who acts is passed with each mutating call.
 */
export async function createServices(loaded: LoadedConfig, options: ServicesOptions = {}): Promise<Services> {
  const { config } = loaded;
  const clock = options.clock ?? Date.now;
  if (options.create === false && !config.storage.url && !existsSync(join(config.data.dir, "control.db"))) {
    throw new AppError("not_found", `no mcp-mt data in ${config.data.dir} (no control.db): pass --data-dir or --config for the right one, or create a tenant first with \`mcp-mt tenant add <id>\``);
  }
  const sqlite = sqliteOptions(config);
  const control: ControlDatabase = config.storage.url
    ? await openPostgresControl(config.storage.url, { max: config.storage.pool_max, maxLifetimeS: config.storage.max_lifetime_s })
    : await openControl(config.data.dir, sqlite);
  let pepper: Pepper;
  try {
    pepper = resolvePepper({ fromEnv: loaded.secrets.pepper, file: config.auth.pepper_file, dataDir: config.data.dir });
    if (options.checkPepper !== false) await checkPepper(control, pepper);
  } catch (error) {
    await control.close();
    throw error;
  }
  const vault = await openVault(loaded);
  const keyFor = async (id: string) => {
    const [row] = await control.db.select({ wrappedKey: tenants.wrappedKey }).from(tenants).where(eq(tenants.id, id));
    if (!row?.wrappedKey) return null;
    if (!vault) throw new AppError("unavailable", `tenant ${id} is encrypted: configure the master key (encryption.master_key_file or MCP_MT_ENCRYPTION_MASTER_KEY)`);
    return vault.unwrap(row.wrappedKey, id);
  };
  const registry = new TenantRegistry({
    dataDir: config.data.dir,
    maxOpen: options.maxOpen ?? config.tenancy.max_open_tenants,
    sqlite,
    keyFor,
    workers: options.workers ?? 0,
    stallMs: config.tenancy.stall_ms,
    log: options.log,
    clock,
  });
  // On PostgreSQL every tenant's documents live there too (row, schema or database, per tenant); the libSQL
  // registry stays for the operator commands that only apply to files, which say so.
  const storage: TenantBackend =
    control.dialect === "postgres"
      ? await openPostgresTenantStorage({
          url: config.storage.url,
          // One pool for the control plane and the row and schema tenants: storage.pool_max is the instance's.
          sql: control.sql as never,
          isolation: config.storage.isolation,
          strategyOf: async (id) => {
            const [row] = await control.db.select({ isolation: tenants.isolation }).from(tenants).where(eq(tenants.id, id));
            if (!row) throw new AppError("not_found", `tenant ${id} does not exist`);
            if (row.isolation === "file") throw new AppError("internal", `tenant ${id} is recorded as a libSQL file in a PostgreSQL control plane: run \`mcp-mt storage copy\` again`);
            return row.isolation;
          },
          poolMax: config.storage.pool_max,
          maxLifetimeS: config.storage.max_lifetime_s,
          databasePoolMax: config.storage.database_pool_max,
          databasePoolsMax: config.storage.database_pools_max,
          clock,
        }).catch(async (error) => {
          await registry.closeAll();
          await control.close();
          throw error;
        })
      : registry;
  // A tenant moved by any instance (tenant move) is routed to its new strategy here at once: the control
  // plane's change notification drops the remembered strategies (re-read on the next call).
  if (storage !== registry) {
    const pg = storage as Awaited<ReturnType<typeof openPostgresTenantStorage>>;
    await control.onChange(() => pg.forgetAll());
  }
  const audit = new AuditLog({ control, clock, log: options.log, busyTimeoutMs: config.tenancy.busy_timeout_ms });
  const keys = new KeyService({ control, pepper: pepper.value, clock, audit });
  return {
    config,
    pepper,
    audit,
    control,
    registry,
    storage,
    keys,
    tenants: new TenantService({ config, control, registry: storage, keys, clock, audit, vault }),
    vault,
    encryption: new EncryptionService({ control, registry, vault, sqlite, audit }),
    backups: new BackupService({ control, registry, dataDir: config.data.dir, sqlite, audit, vault, keyFor, pepper }),
    migrations: new MigrationService({ control, registry: storage }),
    oauth: oauthServices({ config, control, clock, audit }),
    clock,
    async close() {
      if (storage !== registry) await storage.closeAll();
      await registry.closeAll();
      audit.close();
      await control.close();
    },
  };
}

/** The master key from MCP_MT_ENCRYPTION_MASTER_KEY or encryption.master_key_file, if any. */
export async function openVault(loaded: LoadedConfig): Promise<KeyVault | null> {
  const file = loaded.config.encryption.master_key_file;
  if (loaded.secrets.masterKey) return KeyVault.fromSecret(loaded.secrets.masterKey);
  if (!file) return null;
  return KeyVault.fromSecret(readSecretFile(file, "encryption.master_key_file"));
}
