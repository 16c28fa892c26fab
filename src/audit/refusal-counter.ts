/** Aggregates frequent refusals (rate limits, quotas) into one audit entry per tenant and kind per interval. */
import type { AuditLog } from "./audit-log.ts";

/** Why a tenant's request was refused (or, for unknown tools and invalid arguments, not billed). */
export type RefusalKind =
  | "rate_limited"
  | "discovery_limited"
  | "quota_exceeded"
  | "concurrency_limited"
  | "streams_limited"
  | "cpu_limited"
  | "unknown_tool"
  | "invalid_arguments";

export class RefusalCounter {
  readonly #audit: AuditLog;
  readonly #clock: () => number;
  #counts = new Map<string, { tenantId: string; kind: string; count: number; since: number }>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(audit: AuditLog, clock: () => number) {
    this.#audit = audit;
    this.#clock = clock;
  }

  start(intervalMs: number, onError: (error: unknown) => void): void {
    this.#timer = setInterval(() => this.flush().catch(onError), intervalMs);
    this.#timer.unref?.();
  }

  count(tenantId: string, kind: RefusalKind): void {
    const key = `${tenantId}\u0000${kind}`;
    const entry = this.#counts.get(key);
    if (entry) entry.count++;
    else this.#counts.set(key, { tenantId, kind, count: 1, since: this.#clock() });
  }

  async flush(): Promise<void> {
    const batch = this.#counts;
    this.#counts = new Map();
    for (const { tenantId, kind, count, since } of batch.values()) {
      // A lost entry is counted and logged by the audit log itself, and the others are still tried.
      await this.#audit.record({ actor: "server", tenantId, action: `limits.${kind}`, outcome: "denied", details: { count, since: new Date(since).toISOString(), until: new Date(this.#clock()).toISOString() } });
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
