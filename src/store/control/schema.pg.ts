/**
 * The control plane's tables as PostgreSQL DDL, for drizzle-kit only (`drizzle/pg-control/`).
 *
 * The control code has ONE implementation: it runs the same drizzle queries on the same table objects
 * (schema.ts) against libSQL or PostgreSQL. That works because these tables store exactly what the libSQL
 * ones store: text for text and JSON columns (drizzle's JSON mode serializes on both), bigint (parsed as a
 * JS number by our client) for integers. test/store/control-schemas.test.ts keeps the two in step.
 */
import { sql } from "drizzle-orm";
import { bigint, index, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";

const int = (name: string) => bigint(name, { mode: "number" });

export const tenants = pgTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  plan: text("plan").notNull(),
  status: text("status").notNull().default("active"),
  overrides: text("overrides").notNull().default(sql`'{}'`),
  createdAt: int("created_at").notNull(),
  updatedAt: int("updated_at").notNull(),
  wrappedKey: text("wrapped_key"),
  isolation: text("isolation").notNull().default("row"),
});

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    label: text("label").notNull().default(""),
    prefix: text("prefix").notNull(),
    hash: text("hash").notNull(),
    scopes: text("scopes").notNull(),
    createdAt: int("created_at").notNull(),
    expiresAt: int("expires_at"),
    revokedAt: int("revoked_at"),
    lastUsedAt: int("last_used_at"),
    replacedBy: text("replaced_by"),
  },
  (table) => [index("api_keys_tenant_idx").on(table.tenantId)],
);

export const usage = pgTable(
  "usage",
  {
    tenantId: text("tenant_id").notNull(),
    month: text("month").notNull(),
    event: text("event").notNull(),
    count: int("count").notNull(),
  },
  (table) => [primaryKey({ columns: [table.tenantId, table.month, table.event] })],
);

export const auditLog = pgTable(
  "audit_log",
  {
    seq: int("seq").primaryKey(),
    at: int("at").notNull(),
    actor: text("actor").notNull(),
    tenantId: text("tenant_id"),
    action: text("action").notNull(),
    target: text("target"),
    outcome: text("outcome").notNull(),
    client: text("client"),
    details: text("details").notNull(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
  },
  (table) => [index("audit_log_tenant_idx").on(table.tenantId, table.at)],
);

export const settings = pgTable("settings", {
  name: text("name").primaryKey(),
  value: text("value").notNull(),
});

export const members = pgTable(
  "members",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: text("role").notNull(),
    passwordHash: text("password_hash"),
    totpSecret: text("totp_secret"),
    createdAt: int("created_at").notNull(),
  },
  (table) => [uniqueIndex("members_tenant_email_idx").on(table.tenantId, table.email), index("members_email_idx").on(table.email)],
);

export const signInLinks = pgTable("sign_in_links", {
  hash: text("hash").primaryKey(),
  memberId: text("member_id")
    .notNull()
    .references(() => members.id, { onDelete: "cascade" }),
  expiresAt: int("expires_at").notNull(),
  usedAt: int("used_at"),
});

export const oauthClients = pgTable("oauth_clients", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  redirectUris: text("redirect_uris").notNull(),
  source: text("source").notNull(),
  createdAt: int("created_at").notNull(),
  lastUsedAt: int("last_used_at"),
});

export const oauthGrants = pgTable(
  "oauth_grants",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    subject: text("subject").notNull(),
    clientId: text("client_id").notNull(),
    clientName: text("client_name").notNull(),
    scopes: text("scopes").notNull(),
    resource: text("resource").notNull(),
    refreshHash: text("refresh_hash").notNull(),
    previousHashes: text("previous_hashes").notNull().default(sql`'[]'`),
    createdAt: int("created_at").notNull(),
    lastUsedAt: int("last_used_at").notNull(),
    revokedAt: int("revoked_at"),
    revokedReason: text("revoked_reason"),
  },
  (table) => [index("oauth_grants_tenant_idx").on(table.tenantId), index("oauth_grants_subject_idx").on(table.subject)],
);
