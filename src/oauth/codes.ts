/** Authorization codes: in memory, single use, short-lived. A second use revokes what the first one granted. */
import { monotonicNow, type MonotonicClock } from "../limits/monotonic-clock.ts";
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

type Entry = CodeGrant & { expiresAt: number; used: boolean; grantId: string | null };

export class AuthorizationCodes {
  readonly #codes = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #now: MonotonicClock;

  constructor(ttlMs: number, now: MonotonicClock = monotonicNow) {
    this.#now = now;
    this.#ttlMs = ttlMs;
  }

  issue(grant: CodeGrant): string {
    this.#sweep();
    const code = randomToken();
    this.#codes.set(code, { ...grant, expiresAt: this.#now() + this.#ttlMs, used: false, grantId: null });
    return code;
  }

  /** The code's grant on first use; on a reuse, `reused` with the grant id it produced (to revoke). */
  redeem(code: string): { grant: CodeGrant; bind(grantId: string): void } | { reused: string | null } | null {
    const entry = this.#codes.get(code);
    if (!entry || entry.expiresAt <= this.#now()) return null;
    if (entry.used) return { reused: entry.grantId };
    entry.used = true;
    return { grant: entry, bind: (grantId) => void (entry.grantId = grantId) };
  }

  #sweep(): void {
    const now = this.#now();
    if (this.#codes.size < 1_000) return;
    for (const [code, entry] of this.#codes) if (entry.expiresAt <= now) this.#codes.delete(code);
  }
}
