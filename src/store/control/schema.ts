/** Control-plane tables: tenants and their API keys. */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  plan: text("plan").notNull(),
  status: text("status", { enum: ["active", "suspended"] }).notNull().default("active"),
  /** JSON object of per-tenant limit overrides (keys of a plan). */
  overrides: text("overrides", { mode: "json" }).$type<Record<string, number>>().notNull().default(sql`'{}'`),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  /** The tenant database's data key, wrapped (AES-GCM) by the master key; null when not encrypted. */
  wrappedKey: text("wrapped_key"),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    /** The public key id embedded in the key itself: lookups never scan. */
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    label: text("label").notNull().default(""),
    /** What a person sees of the key: product prefix and key id. */
    prefix: text("prefix").notNull(),
    /** HMAC-SHA256 of the whole key under the server pepper, hex. */
    hash: text("hash").notNull(),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at"),
    revokedAt: integer("revoked_at"),
    lastUsedAt: integer("last_used_at"),
    /** Set by `key rotate`: the key that replaces this one (which stays valid until expires_at). */
    replacedBy: text("replaced_by"),
  },
  (table) => [index("api_keys_tenant_idx").on(table.tenantId)],
);

export type TenantRow = typeof tenants.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;

/** Usage counters per tenant, calendar month (UTC, YYYY-MM) and event; written in batches by the UsageMeter. */
export const usage = sqliteTable(
  "usage",
  {
    tenantId: text("tenant_id").notNull(),
    month: text("month").notNull(),
    event: text("event").notNull(),
    count: integer("count").notNull(),
  },
  (table) => [primaryKey({ columns: [table.tenantId, table.month, table.event] })],
);

/**
 * Append-only, hash-chained audit log: each entry stores the previous entry's hash and the hash of
 * (previous hash + its own canonical content), so an edit or a deletion breaks the chain at that entry.
 */
export const auditLog = sqliteTable(
  "audit_log",
  {
    seq: integer("seq").primaryKey(),
    at: integer("at").notNull(),
    actor: text("actor").notNull(),
    tenantId: text("tenant_id"),
    action: text("action").notNull(),
    target: text("target"),
    outcome: text("outcome", { enum: ["success", "failure", "denied"] }).notNull(),
    client: text("client"),
    details: text("details", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
  },
  (table) => [index("audit_log_tenant_idx").on(table.tenantId, table.at)],
);

export type AuditRow = typeof auditLog.$inferSelect;

/**
 * Facts about this data directory itself, by name. `pepper_fingerprint`: an HMAC of a constant under the
 * pepper that keyed the API-key hashes (never the pepper), so a start or restore with another pepper is refused.
 */
export const settings = sqliteTable("settings", {
  name: text("name").primaryKey(),
  value: text("value").notNull(),
});
