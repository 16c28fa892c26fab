/**
 * Browser sessions of the sign-in pages, in memory: a random id in an HttpOnly, SameSite=Lax cookie; a CSRF
 * token derived from it (HMAC) in every form; and the pending authorization requests of that browser.
 */
import { monotonicNow, type MonotonicClock } from "../limits/monotonic-clock.ts";
import { createHmac } from "node:crypto";
import type { Scope } from "../auth/scopes.ts";
import { randomToken, sameText } from "./secrets.ts";

export type Signer = { tenantId: string; subject: string; label: string; maxScopes: Scope[]; admin: boolean };

export type AuthRequest = {
  clientId: string;
  clientName: string;
  clientHost: string | null;
  redirectUri: string;
  state: string | null;
  codeChallenge: string;
  resource: string;
  scopes: Scope[];
};

export type Session = {
  id: string;
  expiresAt: number;
  signer: Signer | null;
  requests: Map<string, AuthRequest & { expiresAt: number }>;
  /** Password checked, second factor still to come. */
  pendingTotp?: { memberId: string; requestId: string | null; expiresAt: number };
};

const maxSessions = 50_000;
const requestTtlMs = 10 * 60_000;

export class Sessions {
  readonly #sessions = new Map<string, Session>();
  readonly #key = crypto.getRandomValues(new Uint8Array(32));
  readonly #ttlMs: number;
  readonly #now: MonotonicClock;

  /** `now`: the monotonic clock every expiry here runs on (injectable for tests); the TOTP step's deadline too. */
  /** Now on the sessions' monotonic clock, for deadlines kept in a session (the second factor's). */
  now(): number {
    return this.#now();
  }

  constructor(ttlMs: number, now: MonotonicClock = monotonicNow) {
    this.#now = now;
    this.#ttlMs = ttlMs;
  }

  get(id: string | undefined): Session | null {
    if (!id) return null;
    const session = this.#sessions.get(id);
    if (!session) return null;
    if (session.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return null;
    }
    return session;
  }

  create(): Session {
    if (this.#sessions.size >= maxSessions) this.#sweep();
    if (this.#sessions.size >= maxSessions) this.#sessions.delete(this.#sessions.keys().next().value!);
    const session: Session = { id: randomToken(), expiresAt: this.#now() + this.#ttlMs, signer: null, requests: new Map() };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** A fresh id on sign-in (session fixation): the pending requests move over. */
  signIn(old: Session, signer: Signer): Session {
    this.#sessions.delete(old.id);
    const session = this.create();
    session.signer = signer;
    session.requests = old.requests;
    return session;
  }

  end(id: string): void {
    this.#sessions.delete(id);
  }

  csrfToken(session: Session): string {
    return createHmac("sha256", this.#key).update(session.id).digest("base64url");
  }

  csrfValid(session: Session | null, token: unknown): boolean {
    return session !== null && typeof token === "string" && sameText(token, this.csrfToken(session));
  }

  addRequest(session: Session, request: AuthRequest): string {
    const now = this.#now();
    for (const [id, r] of session.requests) if (r.expiresAt <= now) session.requests.delete(id);
    if (session.requests.size >= 20) session.requests.delete(session.requests.keys().next().value!);
    const id = randomToken(16);
    session.requests.set(id, { ...request, expiresAt: now + requestTtlMs });
    return id;
  }

  request(session: Session, id: unknown): (AuthRequest & { expiresAt: number }) | null {
    if (typeof id !== "string") return null;
    const request = session.requests.get(id);
    return request && request.expiresAt > this.#now() ? request : null;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(id);
  }
}
