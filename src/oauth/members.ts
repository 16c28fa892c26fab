/** Tenant members who sign in on the OAuth pages: passwords (argon2id, never stored or logged in clear) and one-time links. */
import { and, eq, isNull } from "drizzle-orm";
import type { Acting } from "../audit/actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { allScopes, type Scope } from "../auth/scopes.ts";
import { AppError, invalidInput, notFound } from "../errors.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { members, oauthGrants, signInLinks, tenants, type MemberRow } from "../store/control/schema.ts";
import { randomToken, sha256 } from "./secrets.ts";
import { newTotpSecret } from "./totp.ts";

export const roles = ["admin", "member", "readonly"] as const;
export type Role = (typeof roles)[number];

/** The widest scopes a member of this role may grant a client. */
export function scopesOfRole(role: Role): Scope[] {
  return role === "readonly" ? ["documents:read", "usage:read"] : [...allScopes];
}

export type MemberInfo = { id: string; tenant_id: string; email: string; role: Role; has_password: boolean; totp: boolean; created_at: string };

const emailPattern = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const iso = (ms: number) => new Date(ms).toISOString();

export function normalizeEmail(email: string | undefined): string {
  const value = (email ?? "").trim().toLowerCase();
  if (!emailPattern.test(value)) throw invalidInput(`${JSON.stringify(email ?? "")} is not an email address`);
  return value;
}

const describe = (row: MemberRow): MemberInfo => ({ id: row.id, tenant_id: row.tenantId, email: row.email, role: row.role, has_password: row.passwordHash !== null, totp: row.totpSecret !== null, created_at: iso(row.createdAt) });

/** A password people can type from a screen: 20 characters from an unambiguous alphabet (~100 bits). */
function generatePassword(): string {
  const alphabet = "abcdefghjkmnpqrstuvwxyz23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]);
  return [0, 5, 10, 15].map((i) => chars.slice(i, i + 5).join("")).join("-");
}

// A hash to verify against when no account matches, so a wrong email costs as long as a wrong password.
let decoy: Promise<string> | undefined;

export class MemberService {
  readonly #control: ControlDatabase;
  readonly #clock: () => number;
  readonly #audit: AuditLog;

  constructor(options: { control: ControlDatabase; clock: () => number; audit: AuditLog }) {
    this.#control = options.control;
    this.#clock = options.clock;
    this.#audit = options.audit;
  }

  /** Adds a member with a generated password (returned once) or the one given. */
  async add(tenantId: string, emailText: string, role: Role, password: string | undefined, by: Acting): Promise<MemberInfo & { password: string }> {
    const email = normalizeEmail(emailText);
    if (!roles.includes(role)) throw invalidInput(`--role must be one of ${roles.join(", ")}`);
    const [tenant] = await this.#control.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
    if (!tenant) throw notFound(`tenant ${tenantId} does not exist`);
    const [existing] = await this.#control.db.select({ id: members.id }).from(members).where(and(eq(members.tenantId, tenantId), eq(members.email, email)));
    if (existing) throw new AppError("already_exists", `${email} is already a member of ${tenantId}`);
    const secret = password ?? generatePassword();
    assertPassword(secret);
    const row: MemberRow = { id: `m_${randomToken(9)}`, tenantId, email, role, passwordHash: await Bun.password.hash(secret, { algorithm: "argon2id" }), totpSecret: null, createdAt: this.#clock() };
    await this.#control.db.insert(members).values(row);
    await this.#audit.append({ actor: by.actor, tenantId, action: "member.added", target: email, details: { role } });
    return { ...describe(row), password: secret };
  }

  async list(tenantId: string): Promise<MemberInfo[]> {
    const rows = await this.#control.db.select().from(members).where(eq(members.tenantId, tenantId)).orderBy(members.email);
    return rows.map(describe);
  }

  /** The member with this email; `tenantId` is needed only when the email is a member of several tenants. */
  async resolve(emailText: string, tenantId?: string): Promise<MemberRow> {
    const email = normalizeEmail(emailText);
    const rows = await this.#control.db.select().from(members).where(tenantId ? and(eq(members.email, email), eq(members.tenantId, tenantId)) : eq(members.email, email));
    if (rows.length === 0) throw notFound(`no member ${email}${tenantId ? ` in tenant ${tenantId}` : ""}`);
    if (rows.length > 1) throw invalidInput(`${email} is a member of ${rows.map((r) => r.tenantId).join(", ")}: name the tenant with --tenant`);
    return rows[0]!;
  }

  async find(id: string): Promise<MemberRow | null> {
    const [row] = await this.#control.db.select().from(members).where(eq(members.id, id));
    return row ?? null;
  }

  /** Removes a member and revokes every grant they signed (effective within a second). */
  async remove(emailText: string, tenantId: string | undefined, by: Acting): Promise<MemberInfo> {
    const row = await this.resolve(emailText, tenantId);
    const now = this.#clock();
    await this.#control.db.update(oauthGrants).set({ revokedAt: now, revokedReason: "member removed" }).where(eq(oauthGrants.subject, `member:${row.id}`));
    await this.#control.db.delete(members).where(eq(members.id, row.id));
    await this.#audit.append({ actor: by.actor, tenantId: row.tenantId, action: "member.removed", target: row.email, details: {} });
    return describe(row);
  }

  /** Sets a new password (generated unless given) and revokes the member's grants: a reset means the old secret is not trusted. */
  async reset(emailText: string, tenantId: string | undefined, password: string | undefined, by: Acting): Promise<MemberInfo & { password: string }> {
    const row = await this.resolve(emailText, tenantId);
    const secret = password ?? generatePassword();
    assertPassword(secret);
    const now = this.#clock();
    await this.#control.db.update(members).set({ passwordHash: await Bun.password.hash(secret, { algorithm: "argon2id" }) }).where(eq(members.id, row.id));
    await this.#control.db.update(oauthGrants).set({ revokedAt: now, revokedReason: "password reset" }).where(and(eq(oauthGrants.subject, `member:${row.id}`)));
    await this.#audit.append({ actor: by.actor, tenantId: row.tenantId, action: "member.reset", target: row.email, details: {} });
    return { ...describe(row), password: secret };
  }

  /** Turns the second factor on (a new secret, returned once) or off. */
  async setTotp(emailText: string, tenantId: string | undefined, on: boolean, by: Acting): Promise<{ member: MemberInfo; secret: string | null }> {
    const row = await this.resolve(emailText, tenantId);
    const secret = on ? newTotpSecret() : null;
    await this.#control.db.update(members).set({ totpSecret: secret }).where(eq(members.id, row.id));
    await this.#audit.append({ actor: by.actor, tenantId: row.tenantId, action: on ? "member.totp_on" : "member.totp_off", target: row.email, details: {} });
    return { member: describe({ ...row, totpSecret: secret }), secret };
  }

  /** A one-time sign-in link secret for the member (only its hash is stored). */
  async link(emailText: string, tenantId: string | undefined, ttlMs: number, by: Acting): Promise<{ member: MemberInfo; secret: string; expires_at: string }> {
    const row = await this.resolve(emailText, tenantId);
    const secret = randomToken(24);
    const expiresAt = this.#clock() + ttlMs;
    await this.#control.db.insert(signInLinks).values({ hash: sha256(secret), memberId: row.id, expiresAt, usedAt: null });
    await this.#audit.append({ actor: by.actor, tenantId: row.tenantId, action: "member.link", target: row.email, details: { expires_at: iso(expiresAt) } });
    return { member: describe(row), secret, expires_at: iso(expiresAt) };
  }

  /** Redeems a sign-in link once; null when unknown, used or expired. */
  async redeemLink(secret: string): Promise<MemberRow | null> {
    const now = this.#clock();
    const hash = sha256(secret);
    const [link] = await this.#control.db.select().from(signInLinks).where(eq(signInLinks.hash, hash));
    if (!link || link.usedAt !== null || link.expiresAt <= now) return null;
    // The conditional update is the single use: two concurrent redemptions cannot both win.
    const claimed = await this.#control.db
      .update(signInLinks)
      .set({ usedAt: now })
      .where(and(eq(signInLinks.hash, hash), isNull(signInLinks.usedAt)))
      .returning({ hash: signInLinks.hash });
    if (claimed.length !== 1) return null;
    return this.find(link.memberId);
  }

  /** The members whose password this is, among those with this email (usually one). */
  async checkPassword(candidates: MemberRow[], password: string): Promise<MemberRow | null> {
    for (const row of candidates) {
      if (row.passwordHash && (await Bun.password.verify(password, row.passwordHash))) return row;
    }
    if (candidates.length === 0) await Bun.password.verify(password, await (decoy ??= Bun.password.hash(randomToken(), { algorithm: "argon2id" })));
    return null;
  }

  async byEmail(email: string): Promise<MemberRow[]> {
    return this.#control.db.select().from(members).where(eq(members.email, email));
  }
}

function assertPassword(password: string): void {
  if (password.length < 12) throw invalidInput("a password needs at least 12 characters");
  if (password.length > 256) throw invalidInput("a password may have at most 256 characters");
}
