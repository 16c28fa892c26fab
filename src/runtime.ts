/** Wires the services every entry point shares (CLI, HTTP server, stdio) from a loaded config. */
import { userInfo } from "node:os";
import { AuditLog } from "./audit/audit-log.ts";
import { KeyService } from "./auth/keys.ts";
import { resolvePepper } from "./auth/pepper.ts";
import type { LoadedConfig } from "./config/load.ts";
import type { Config } from "./config/schema.ts";
import { openControl, type ControlDatabase } from "./store/control/db.ts";
import type { SqliteOptions } from "./store/open.ts";
import { MigrationService } from "./tenancy/migrations.ts";
import { TenantRegistry } from "./tenancy/registry.ts";
import { TenantService } from "./tenancy/tenants.ts";

export type Runtime = {
  config: Config;
  audit: AuditLog;
  /** Who acts through this runtime's services, as the audit log records it (e.g. operator:alice). */
  actor: string;
  control: ControlDatabase;
  registry: TenantRegistry;
  keys: KeyService;
  tenants: TenantService;
  migrations: MigrationService;
  clock: () => number;
  close(): Promise<void>;
};

export const sqliteOptions = (config: Config): SqliteOptions => ({
  synchronous: config.tenancy.synchronous,
  busyTimeoutMs: config.tenancy.busy_timeout_ms,
});

/** Opens the control plane (migrating it) and builds the services on top. */
export async function openRuntime(loaded: LoadedConfig, clock: () => number = Date.now, actor = operatorActor()): Promise<Runtime> {
  const { config } = loaded;
  const control = await openControl(config.data.dir, sqliteOptions(config));
  const pepper = resolvePepper({ fromEnv: loaded.secrets.pepper, file: config.auth.pepper_file, dataDir: config.data.dir });
  const registry = new TenantRegistry({ dataDir: config.data.dir, maxOpen: config.tenancy.max_open_tenants, sqlite: sqliteOptions(config) });
  const audit = new AuditLog({ control, clock });
  const keys = new KeyService({ control, pepper, clock, audit, actor });
  const tenants = new TenantService({ config, control, registry, keys, clock, audit, actor });
  const migrations = new MigrationService({ control, registry });
  return {
    config,
    audit,
    actor,
    control,
    registry,
    keys,
    tenants,
    migrations,
    clock,
    async close() {
      await registry.closeAll();
      control.client.close();
    },
  };
}

/** The operator running a CLI command, for the audit log. */
export function operatorActor(): string {
  try {
    return `operator:${userInfo().username}`;
  } catch {
    return "operator";
  }
}
