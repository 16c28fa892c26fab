/**
 * Authorization codes: single use, short-lived, kept in the EphemeralStore (so the token request may reach
 * another instance than the consent). A second use revokes what the first one granted.
 */
import type { EphemeralStore } from "./ephemeral-store.ts";
import { randomToken } from "./secrets.ts";

export type CodeGrant = {
  clientId: string;
  clientName: string;
  redirectUri: string;
  codeChallenge: string;
  resource: string;
  tenantId: string;
  subject: string;
  scopes: string[];
};

export class AuthorizationCodes {
  readonly #store: EphemeralStore;
  readonly #ttlMs: number;

  constructor(store: EphemeralStore, ttlMs: number) {
    this.#store = store;
    this.#ttlMs = ttlMs;
  }

  async issue(grant: CodeGrant): Promise<string> {
    const code = randomToken();
    await this.#store.set(`code:${code}`, JSON.stringify(grant), this.#ttlMs);
    return code;
  }

  /** The code's grant on first use; on a reuse, `reused` with the grant id it produced (to revoke). */
  async redeem(code: string): Promise<{ grant: CodeGrant; bind(grantId: string): Promise<void> } | { reused: string | null } | null> {
    if (!/^[A-Za-z0-9_-]{16,100}$/.test(code)) return null;
    const raw = await this.#store.get(`code:${code}`);
    if (!raw) return null;
    // The first redeemer (of any instance) claims the code; every later one sees it used.
    if (!(await this.#store.setIfAbsent(`used:${code}`, "", this.#ttlMs))) return { reused: await this.#store.get(`grant:${code}`) };
    return { grant: JSON.parse(raw) as CodeGrant, bind: (grantId) => this.#store.set(`grant:${code}`, grantId, this.#ttlMs) };
  }
}
