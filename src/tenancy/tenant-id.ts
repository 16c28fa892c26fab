/** Tenant ids are slugs; every file path is derived from a validated id and confined to the data dir. */
import { join, resolve, sep } from "node:path";
import { AppError } from "../errors.ts";

const tenantIdPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Windows device names: refused everywhere so a data dir can move between systems. */
const reserved = new Set(["con", "prn", "aux", "nul", ...Array.from({ length: 9 }, (_, i) => [`com${i + 1}`, `lpt${i + 1}`]).flat()]);

/** Returns the id if it is a valid tenant id, else throws a clear error. Runs before any file-system call. */
export function assertTenantId(id: unknown): string {
  if (typeof id !== "string" || id.length === 0) throw new AppError("invalid_tenant_id", "tenant id is empty");
  const shown = JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}…` : id);
  if (id.length > 63) throw new AppError("invalid_tenant_id", `tenant id ${shown} is ${id.length} characters long; the limit is 63`);
  if (!tenantIdPattern.test(id)) {
    throw new AppError(
      "invalid_tenant_id",
      `tenant id ${shown} is invalid: use 1-63 lower-case letters, digits and '-', starting with a letter or digit`,
    );
  }
  if (reserved.has(id)) throw new AppError("invalid_tenant_id", `tenant id ${shown} is a reserved device name`);
  return id;
}

/** Path of a tenant's database file, confined to <dataDir>/tenants. */
export function tenantDbPath(dataDir: string, id: string): string {
  const dir = resolve(dataDir, "tenants");
  const path = join(dir, `${assertTenantId(id)}.db`);
  if (!path.startsWith(dir + sep)) throw new AppError("invalid_tenant_id", "tenant path escapes the data directory");
  return path;
}
