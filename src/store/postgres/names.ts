/**
 * Names of a tenant's PostgreSQL objects, built only from a validated tenant id (a slug without `_`, so
 * `-` → `_` cannot make two ids collide) and always quoted where used.
 */
import { assertTenantId } from "../../tenancy/tenant-id.ts";

/** PostgreSQL truncates identifiers beyond 63 bytes: longer names are cut and end with a hash of the whole. */
const maxIdentifierBytes = 63;

function fitIdentifier(name: string): string {
  if (Buffer.byteLength(name) <= maxIdentifierBytes) return name;
  const hash = new Bun.CryptoHasher("sha256").update(name).digest("hex").slice(0, 8);
  return `${Buffer.from(name).subarray(0, maxIdentifierBytes - 9).toString("utf8").replace(/\uFFFD+$/, "")}_${hash}`;
}

/** The schema of a schema-strategy tenant: `t_` + id with `-` → `_`. */
export function tenantSchema(id: string): string {
  assertTenantId(id);
  return `t_${id.replaceAll("-", "_")}`;
}

/** The database of a database-strategy tenant: `<maindb>_t_<id with - → _>`, fitted to 63 bytes. */
export function tenantDatabase(mainDatabase: string, id: string): string {
  assertTenantId(id);
  return fitIdentifier(`${mainDatabase}_t_${id.replaceAll("-", "_")}`);
}

/** The migrated template every tenant database is copied from. */
export const templateDatabase = (mainDatabase: string) => fitIdentifier(`${mainDatabase}_template`);

/** An identifier quoted for SQL text. */
export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
