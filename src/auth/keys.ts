/** API keys: create (shown once), list, revoke, and verify a presented key by id lookup + keyed hash. */
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Acting } from "../audit/actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { AppError, notFound } from "../errors.ts";
import { chunks } from "../store/control/chunks.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { apiKeys, tenants, type ApiKeyRow } from "../store/control/schema.ts";
import { displayPrefix, generateApiKey, hashApiKey, hashesEqual, parseApiKey } from "./api-key.ts";
import { defaultScopes, type Scope } from "./scopes.ts";

/** rotated: replaced by `key rotate`, still accepted until its grace period (expires_at) ends. */
export type KeyState = "active" | "rotated" | "expired" | "revoked";

export type KeyInfo = {
  id: string;
  tenant_id: string;
  label: string;
  prefix: string;
  scopes: string[];
  state: KeyState;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  replaced_by: string | null;
};

export type CreatedKey = KeyInfo & { api_key: string };

export type KeyServiceOptions = { control: ControlDatabase; pepper: string; clock: () => number; audit: AuditLog };

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Keys per last-use UPDATE: 3 parameters each, far below SQLite's and PostgreSQL's parameter limits. */
const useChunk = 300;

export class KeyService {
  readonly #control: ControlDatabase;
  readonly #pepper: string;
  readonly #clock: () => number;
  readonly #audit: AuditLog;

  constructor(options: KeyServiceOptions) {
    this.#control = options.control;
    this.#pepper = options.pepper;
    this.#clock = options.clock;
    this.#audit = options.audit;
  }

  /** The statement inserting a new key (so tenant creation can batch it atomically) and the key itself. */
  prepare(tenantId: string, options: { label?: string; scopes?: Scope[]; expiresAt?: number | null } = {}) {
    const { id, key } = generateApiKey();
    const row: ApiKeyRow = {
      id,
      tenantId,
      label: options.label ?? "",
      prefix: displayPrefix(id),
      hash: hashApiKey(key, this.#pepper),
      scopes: options.scopes ?? defaultScopes,
      createdAt: this.#clock(),
      expiresAt: options.expiresAt ?? null,
      revokedAt: null,
      lastUsedAt: null,
      replacedBy: null,
    };
    return { insert: this.#control.db.insert(apiKeys).values(row), created: { ...this.describe(row), api_key: key } };
  }

  /** Creates a key for an existing tenant; the plain key is returned once and never stored. */
  async create(tenantId: string, options: { label?: string; scopes?: Scope[]; expiresAt?: number | null }, by: Acting): Promise<CreatedKey> {
    const tenant = await this.#control.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
    if (tenant.length === 0) throw notFound(`tenant ${tenantId} does not exist`);
    const { insert, created } = this.prepare(tenantId, options);
    await insert;
    await this.#audit.append({ actor: by.actor, tenantId, action: "key.created", target: created.id, details: { label: created.label, scopes: created.scopes, expires_at: created.expires_at } });
    return created;
  }

  async list(tenantId: string): Promise<KeyInfo[]> {
    const rows = await this.#control.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.tenantId, tenantId))
      .orderBy(desc(apiKeys.createdAt));
    return rows.map((row) => this.describe(row));
  }

  /** Revokes a key at once. Revoking twice is not an error. */
  async revoke(keyId: string, by: Acting): Promise<KeyInfo> {
    const [row] = await this.#control.db.select().from(apiKeys).where(eq(apiKeys.id, keyId));
    if (!row) throw notFound(`key ${keyId} does not exist`);
    if (row.revokedAt === null) {
      row.revokedAt = this.#clock();
      await this.#control.db.update(apiKeys).set({ revokedAt: row.revokedAt }).where(and(eq(apiKeys.id, keyId)));
      await this.#audit.append({ actor: by.actor, tenantId: row.tenantId, action: "key.revoked", target: keyId });
    }
    return this.describe(row);
  }

  /** The key row for a presented secret, or an "unauthorized" error that does not say which check failed. */
  async verify(presented: string): Promise<ApiKeyRow> {
    const parsed = parseApiKey(presented);
    const refused = new AppError("unauthorized", "invalid API key");
    if (!parsed) throw refused;
    const [row] = await this.#control.db.select().from(apiKeys).where(eq(apiKeys.id, parsed.id));
    if (!row || !hashesEqual(row.hash, hashApiKey(parsed.key, this.#pepper))) throw refused;
    const state = this.stateOf(row);
    if (state !== "active" && state !== "rotated") throw new AppError("unauthorized", `API key ${row.prefix} is ${state}`);
    return row;
  }

  /** Writes last-use times collected in memory (batched: one statement per key per flush, not per request). */
  async recordUse(uses: Map<string, number>): Promise<void> {
    if (uses.size === 0) return;
    const db = this.#control.db;
    // One UPDATE per chunk of keys (a CASE on the id) rather than one per key: building and preparing a statement
    // per row is what made the usage flush cost ~150 µs of main-thread CPU per tenant (bench/RESULTS.md, cold
    // tenants), and on PostgreSQL each statement is a round trip. The CAST types the parameter for PostgreSQL.
    const updates = chunks([...uses], useChunk).map((chunk) =>
      db
        .update(apiKeys)
        .set({ lastUsedAt: sql`case ${apiKeys.id} ${sql.join(chunk.map(([id, at]) => sql`when ${id} then cast(${at} as bigint)`), sql` `)} end` })
        .where(inArray(apiKeys.id, chunk.map(([id]) => id))),
    );
    await db.batch(updates as [(typeof updates)[number], ...typeof updates]);
  }

  stateOf(row: ApiKeyRow): KeyState {
    if (row.revokedAt !== null && row.revokedAt <= this.#clock()) return "revoked";
    if (row.expiresAt !== null && row.expiresAt <= this.#clock()) return "expired";
    return row.replacedBy ? "rotated" : "active";
  }

  /**
   * Issues a replacement with the same tenant, scopes and label; the old key keeps working for `graceMs`
   * (never longer than it would have anyway), then is refused. Both changes are one atomic batch.
   */
  async rotate(keyId: string, graceMs: number, by: Acting): Promise<{ created: CreatedKey; old: KeyInfo }> {
    const [row] = await this.#control.db.select().from(apiKeys).where(eq(apiKeys.id, keyId));
    if (!row) throw notFound(`key ${keyId} does not exist`);
    const state = this.stateOf(row);
    if (state !== "active") throw new AppError("conflict", `key ${keyId} is ${state}; only an active key can be rotated`);
    const { insert, created } = this.prepare(row.tenantId, { label: row.label, scopes: row.scopes as Scope[], expiresAt: row.expiresAt });
    const graceEnd = Math.min(this.#clock() + graceMs, row.expiresAt ?? Number.POSITIVE_INFINITY);
    await this.#control.db.batch([insert, this.#control.db.update(apiKeys).set({ expiresAt: graceEnd, replacedBy: created.id }).where(eq(apiKeys.id, keyId))]);
    await this.#audit.append({ actor: by.actor, tenantId: row.tenantId, action: "key.rotated", target: keyId, details: { new_key: created.id, old_key_valid_until: new Date(graceEnd).toISOString() } });
    return { created, old: this.describe({ ...row, expiresAt: graceEnd, replacedBy: created.id }) };
  }

  describe(row: ApiKeyRow): KeyInfo {
    return {
      id: row.id,
      tenant_id: row.tenantId,
      label: row.label,
      prefix: row.prefix,
      scopes: row.scopes,
      state: this.stateOf(row),
      created_at: iso(row.createdAt)!,
      expires_at: iso(row.expiresAt),
      revoked_at: iso(row.revokedAt),
      last_used_at: iso(row.lastUsedAt),
      replaced_by: row.replacedBy,
    };
  }
}
