/**
 * Grants and their rotating refresh tokens. Each refresh replaces the token; presenting a replaced token
 * again means it was copied, so the whole grant is revoked (OAuth 2.1 refresh token reuse detection).
 */
import { and, desc, eq, isNotNull, isNull, lt, or } from "drizzle-orm";
import { serverActor, type Acting } from "../audit/actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { AppError, notFound } from "../errors.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { apiKeys, members, oauthGrants, signInLinks, type OAuthGrantRow } from "../store/control/schema.ts";
import { randomToken, sameText, sha256 } from "./secrets.ts";

export type GrantInfo = {
  id: string;
  tenant_id: string;
  subject: string;
  client_id: string;
  client_name: string;
  scopes: string[];
  state: "active" | "revoked" | "expired";
  created_at: string;
  last_used_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
};

export type NewGrant = { tenantId: string; subject: string; clientId: string; clientName: string; scopes: string[]; resource: string };

const tokenPrefix = "mcpmt_rt_";
const keptPrevious = 20;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** An OAuth error for the token endpoint: RFC 6749's code and a description. */
export class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
  ) {
    super(description);
  }
}

export class GrantService {
  readonly #control: ControlDatabase;
  readonly #clock: () => number;
  readonly #audit: AuditLog;
  readonly #refreshMs: number;

  constructor(options: { control: ControlDatabase; clock: () => number; audit: AuditLog; refreshMs: number }) {
    this.#control = options.control;
    this.#clock = options.clock;
    this.#audit = options.audit;
    this.#refreshMs = options.refreshMs;
  }

  describe(row: OAuthGrantRow): GrantInfo {
    const state = row.revokedAt !== null ? "revoked" : row.lastUsedAt + this.#refreshMs <= this.#clock() ? "expired" : "active";
    return {
      id: row.id,
      tenant_id: row.tenantId,
      subject: row.subject,
      client_id: row.clientId,
      client_name: row.clientName,
      scopes: row.scopes,
      state,
      created_at: iso(row.createdAt)!,
      last_used_at: iso(row.lastUsedAt)!,
      revoked_at: iso(row.revokedAt),
      revoked_reason: row.revokedReason,
    };
  }

  async create(grant: NewGrant): Promise<{ row: OAuthGrantRow; refreshToken: string }> {
    const now = this.#clock();
    const id = `g_${randomToken(12)}`;
    const secret = randomToken();
    const row: OAuthGrantRow = { ...grant, id, refreshHash: sha256(secret), previousHashes: [], createdAt: now, lastUsedAt: now, revokedAt: null, revokedReason: null };
    await this.#control.db.insert(oauthGrants).values(row);
    await this.#audit.append({ actor: `oauth:${grant.subject}`, tenantId: grant.tenantId, action: "oauth.granted", target: id, details: { client_id: grant.clientId, client_name: grant.clientName, scopes: grant.scopes } });
    return { row, refreshToken: `${tokenPrefix}${id}.${secret}` };
  }

  /** Rotates a refresh token presented by `clientId`; a replaced token revokes the grant. Throws OAuthError. */
  async refresh(token: string, clientId: string): Promise<{ row: OAuthGrantRow; refreshToken: string }> {
    const { id, secret } = parseRefreshToken(token);
    const row = await this.#find(id);
    if (!row || row.clientId !== clientId) throw new OAuthError("invalid_grant", "unknown refresh token");
    const hash = sha256(secret);
    if (row.revokedAt !== null) throw new OAuthError("invalid_grant", "the grant was revoked");
    if (!sameText(hash, row.refreshHash)) {
      if (row.previousHashes.includes(hash)) {
        await this.revoke(id, "refresh token reused after rotation", serverActor);
        throw new OAuthError("invalid_grant", "refresh token already used: the grant is revoked");
      }
      throw new OAuthError("invalid_grant", "unknown refresh token");
    }
    const now = this.#clock();
    if (row.lastUsedAt + this.#refreshMs <= now) throw new OAuthError("invalid_grant", "the grant expired; sign in again");
    const next = randomToken();
    const previousHashes = [row.refreshHash, ...row.previousHashes].slice(0, keptPrevious);
    // Conditional on the hash we checked: of two concurrent refreshes with the same token only one rotates.
    const updated = await this.#control.db
      .update(oauthGrants)
      .set({ refreshHash: sha256(next), previousHashes, lastUsedAt: now })
      .where(and(eq(oauthGrants.id, id), eq(oauthGrants.refreshHash, row.refreshHash), isNull(oauthGrants.revokedAt)))
      .returning({ id: oauthGrants.id });
    if (updated.length !== 1) {
      await this.revoke(id, "refresh token reused after rotation", serverActor);
      throw new OAuthError("invalid_grant", "refresh token already used: the grant is revoked");
    }
    return { row: { ...row, refreshHash: sha256(next), previousHashes, lastUsedAt: now }, refreshToken: `${tokenPrefix}${id}.${next}` };
  }

  /** RFC 7009: revokes the grant a refresh token belongs to, if the token is its current one and the client's. */
  async revokeByToken(token: string, clientId: string | null): Promise<void> {
    let parsed: { id: string; secret: string };
    try {
      parsed = parseRefreshToken(token);
    } catch {
      return;
    }
    const row = await this.#find(parsed.id);
    if (!row || (clientId !== null && row.clientId !== clientId)) return;
    const hash = sha256(parsed.secret);
    if (sameText(hash, row.refreshHash) || row.previousHashes.includes(hash)) await this.revoke(row.id, "revoked by the client", serverActor);
  }

  async revoke(id: string, reason: string, by: Acting): Promise<GrantInfo> {
    const row = await this.#find(id);
    if (!row) throw notFound(`no grant ${id}`);
    if (row.revokedAt === null) {
      const now = this.#clock();
      await this.#control.db.update(oauthGrants).set({ revokedAt: now, revokedReason: reason }).where(eq(oauthGrants.id, id));
      await this.#audit.append({ actor: by.actor, tenantId: row.tenantId, action: "oauth.revoked", target: id, details: { reason } });
      return this.describe({ ...row, revokedAt: now, revokedReason: reason });
    }
    return this.describe(row);
  }

  async list(tenantId: string): Promise<GrantInfo[]> {
    const rows = await this.#control.db.select().from(oauthGrants).where(eq(oauthGrants.tenantId, tenantId)).orderBy(desc(oauthGrants.createdAt));
    return rows.map((r) => this.describe(r));
  }

  async listForSubject(subject: string): Promise<GrantInfo[]> {
    const rows = await this.#control.db.select().from(oauthGrants).where(and(eq(oauthGrants.subject, subject), isNull(oauthGrants.revokedAt))).orderBy(desc(oauthGrants.createdAt));
    return rows.map((r) => this.describe(r)).filter((g) => g.state === "active");
  }

  async get(id: string): Promise<GrantInfo | null> {
    const row = await this.#find(id);
    return row ? this.describe(row) : null;
  }

  /**
   * Throws unauthorized unless the grant stands: not revoked or expired, for this tenant, and its signer still
   * exists (a removed member, or a revoked or expired API key, ends it).
   */
  async assertActive(id: string, tenantId: string): Promise<void> {
    const row = await this.#find(id);
    const now = this.#clock();
    if (!row || row.tenantId !== tenantId) throw new AppError("unauthorized", "invalid token: unknown grant");
    if (row.revokedAt !== null) throw new AppError("unauthorized", "invalid token: the grant was revoked; sign in again");
    if (row.lastUsedAt + this.#refreshMs <= now) throw new AppError("unauthorized", "invalid token: the grant expired; sign in again");
    await this.assertSigner(row.subject, row.tenantId);
  }

  /** The signer of a grant still exists: a member row, or an API key neither revoked nor expired. */
  async assertSigner(subject: string, tenantId: string): Promise<void> {
    const [kind, id] = subject.split(":", 2) as [string, string];
    if (kind === "member") {
      const [m] = await this.#control.db.select({ id: members.id }).from(members).where(and(eq(members.id, id), eq(members.tenantId, tenantId)));
      if (!m) throw new AppError("unauthorized", "invalid token: its member was removed");
      return;
    }
    const [k] = await this.#control.db.select({ revokedAt: apiKeys.revokedAt, expiresAt: apiKeys.expiresAt, tenantId: apiKeys.tenantId }).from(apiKeys).where(eq(apiKeys.id, id));
    if (!k || k.tenantId !== tenantId || k.revokedAt !== null || (k.expiresAt !== null && k.expiresAt <= this.#clock())) throw new AppError("unauthorized", "invalid token: the API key it was granted with is no longer valid");
  }

  /** Deletes grants revoked or expired more than `keepMs` ago (the audit log keeps their story). */
  async prune(keepMs: number): Promise<number> {
    const cutoff = this.#clock() - keepMs;
    const removed = await this.#control.db
      .delete(oauthGrants)
      .where(or(and(isNotNull(oauthGrants.revokedAt), lt(oauthGrants.revokedAt, cutoff)), and(isNull(oauthGrants.revokedAt), lt(oauthGrants.lastUsedAt, cutoff - this.#refreshMs))))
      .returning({ id: oauthGrants.id });
    await this.#control.db.delete(signInLinks).where(lt(signInLinks.expiresAt, cutoff));
    return removed.length;
  }

  async #find(id: string): Promise<OAuthGrantRow | null> {
    const [row] = await this.#control.db.select().from(oauthGrants).where(eq(oauthGrants.id, id));
    return row ?? null;
  }
}

function parseRefreshToken(token: string): { id: string; secret: string } {
  const match = /^mcpmt_rt_(g_[\w-]+)\.([\w-]{20,})$/.exec(token);
  if (!match) throw new OAuthError("invalid_grant", "malformed refresh token");
  return { id: match[1]!, secret: match[2]! };
}
