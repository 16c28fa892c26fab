/**
 * Browser sessions of the sign-in pages: a random id in an HttpOnly, SameSite=Lax cookie; a CSRF token kept
 * with the session (random, compared in constant time) in every form; and the pending authorization requests
 * of that browser. Kept in an EphemeralStore, so any instance can continue a sign-in another one started.
 * Times inside a session are wall-clock milliseconds: instances share no monotonic clock.
 */
import type { Scope } from "../auth/scopes.ts";
import type { EphemeralStore } from "./ephemeral-store.ts";
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

export type PendingRequest = AuthRequest & { expiresAt: number };

export type Session = {
  id: string;
  expiresAt: number;
  csrf: string;
  signer: Signer | null;
  /** Pending authorization requests by id, oldest first. */
  requests: Record<string, PendingRequest>;
  /** Password checked, second factor still to come. */
  pendingTotp?: { memberId: string; requestId: string | null; expiresAt: number };
};

const requestTtlMs = 10 * 60_000;
const maxRequests = 20;

export class Sessions {
  readonly #store: EphemeralStore;
  readonly #ttlMs: number;
  readonly #clock: () => number;

  constructor(store: EphemeralStore, ttlMs: number, clock: () => number = Date.now) {
    this.#store = store;
    this.#ttlMs = ttlMs;
    this.#clock = clock;
  }

  async get(id: string | undefined): Promise<Session | null> {
    // Only ids this server could have made: a cookie is attacker-controlled input used in a key.
    if (!id || !/^[A-Za-z0-9_-]{16,100}$/.test(id)) return null;
    const raw = await this.#store.get(`session:${id}`);
    if (!raw) return null;
    const session = JSON.parse(raw) as Session;
    return session.expiresAt > this.#clock() ? session : null;
  }

  async create(): Promise<Session> {
    const session: Session = { id: randomToken(), expiresAt: this.#clock() + this.#ttlMs, csrf: randomToken(), signer: null, requests: {} };
    await this.save(session);
    return session;
  }

  /** Writes a changed session back (it keeps its original expiry). */
  async save(session: Session): Promise<void> {
    const left = session.expiresAt - this.#clock();
    if (left > 0) await this.#store.set(`session:${session.id}`, JSON.stringify(session), left);
  }

  /** A fresh id (and CSRF token) on sign-in (session fixation): the pending requests move over. */
  async signIn(old: Session, signer: Signer): Promise<Session> {
    await this.#store.delete(`session:${old.id}`);
    const session: Session = { id: randomToken(), expiresAt: this.#clock() + this.#ttlMs, csrf: randomToken(), signer, requests: old.requests };
    await this.save(session);
    return session;
  }

  end(id: string): Promise<void> {
    return this.#store.delete(`session:${id}`);
  }

  csrfToken(session: Session): string {
    return session.csrf;
  }

  csrfValid(session: Session | null, token: unknown): boolean {
    return session !== null && typeof token === "string" && sameText(token, session.csrf);
  }

  async addRequest(session: Session, request: AuthRequest): Promise<string> {
    const now = this.#clock();
    for (const [id, r] of Object.entries(session.requests)) if (r.expiresAt <= now) delete session.requests[id];
    const ids = Object.keys(session.requests);
    if (ids.length >= maxRequests) delete session.requests[ids[0]!];
    const id = randomToken(16);
    session.requests[id] = { ...request, expiresAt: now + requestTtlMs };
    await this.save(session);
    return id;
  }

  request(session: Session, id: unknown): PendingRequest | null {
    if (typeof id !== "string" || !Object.hasOwn(session.requests, id)) return null;
    const request = session.requests[id]!;
    return request.expiresAt > this.#clock() ? request : null;
  }

  /** The newest pending request's id, if any. */
  newestRequest(session: Session): string | null {
    return Object.keys(session.requests).pop() ?? null;
  }

  async removeRequest(session: Session, id: string): Promise<void> {
    delete session.requests[id];
    await this.save(session);
  }

  async setPendingTotp(session: Session, pending: Session["pendingTotp"]): Promise<void> {
    if (pending) session.pendingTotp = pending;
    else delete session.pendingTotp;
    await this.save(session);
  }

  /** Whether a pending second factor is still valid. */
  totpPending(session: Session): Session["pendingTotp"] | null {
    const pending = session.pendingTotp;
    return pending && pending.expiresAt > this.#clock() ? pending : null;
  }
}
