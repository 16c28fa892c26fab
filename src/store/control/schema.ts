/** Control-plane tables: tenants and their API keys. */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  plan: text("plan").notNull(),
  status: text("status", { enum: ["active", "suspended", "moving"] }).notNull().default("active"),
  /** JSON object of per-tenant limit overrides (keys of a plan). */
  overrides: text("overrides", { mode: "json" }).$type<Record<string, number>>().notNull().default(sql`'{}'`),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  /** The tenant database's data key, wrapped (AES-GCM) by the master key; null when not encrypted. */
  wrappedKey: text("wrapped_key"),
  /** Where the tenant's documents live: its own libSQL file, or PostgreSQL shared rows, its own schema or database. */
  isolation: text("isolation", { enum: ["file", "row", "schema", "database"] }).notNull().default("file"),
});

export type Isolation = (typeof tenants.$inferSelect)["isolation"];

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

/** People who sign in on the OAuth pages for one tenant (argon2id password hash; never the password). */
export const members = sqliteTable(
  "members",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: text("role", { enum: ["admin", "member", "readonly"] }).notNull(),
    passwordHash: text("password_hash"),
    /** Base32 TOTP secret when the member turned on a second factor (`mcp-mt member totp`). */
    totpSecret: text("totp_secret"),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [uniqueIndex("members_tenant_email_idx").on(table.tenantId, table.email), index("members_email_idx").on(table.email)],
);

export type MemberRow = typeof members.$inferSelect;

/** One-time sign-in links printed by `mcp-mt member link` (only the hash of the link's secret is kept). */
export const signInLinks = sqliteTable("sign_in_links", {
  hash: text("hash").primaryKey(),
  memberId: text("member_id")
    .notNull()
    .references(() => members.id, { onDelete: "cascade" }),
  expiresAt: integer("expires_at").notNull(),
  usedAt: integer("used_at"),
});

/** OAuth clients: registered dynamically (RFC 7591) or by the operator. URL client ids (metadata documents) are not stored. */
export const oauthClients = sqliteTable("oauth_clients", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  redirectUris: text("redirect_uris", { mode: "json" }).$type<string[]>().notNull(),
  source: text("source", { enum: ["dynamic", "operator"] }).notNull(),
  createdAt: integer("created_at").notNull(),
  /** Set when a sign-in through this client completes; dynamic clients never used expire. */
  lastUsedAt: integer("last_used_at"),
});

export type OAuthClientRow = typeof oauthClients.$inferSelect;

/** A grant: one client's access to one tenant for one signer; its refresh token rotates on every use. */
export const oauthGrants = sqliteTable(
  "oauth_grants",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    /** member:<id> or key:<api key id>: who signed in. */
    subject: text("subject").notNull(),
    clientId: text("client_id").notNull(),
    clientName: text("client_name").notNull(),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    resource: text("resource").notNull(),
    /** SHA-256 of the current refresh token's secret. */
    refreshHash: text("refresh_hash").notNull(),
    /** Hashes of refresh tokens already rotated away: presenting one again revokes the grant. */
    previousHashes: text("previous_hashes", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at").notNull(),
    revokedAt: integer("revoked_at"),
    revokedReason: text("revoked_reason"),
  },
  (table) => [index("oauth_grants_tenant_idx").on(table.tenantId), index("oauth_grants_subject_idx").on(table.subject)],
);

export type OAuthGrantRow = typeof oauthGrants.$inferSelect;
