/**
 * The audit log: append-only and hash-chained. Entries carry time (UTC), actor, tenant, action, target,
 * outcome and client address, never a secret. `verify` walks the chain and names the first broken entry.
 */
import { monotonicNow, type MonotonicClock } from "../limits/monotonic-clock.ts";
import { and, asc, desc, eq, gte, type SQL } from "drizzle-orm";
import type { ControlDatabase } from "../store/control/db.ts";
import { createLogger, type Logger } from "../log.ts";
import { auditLog, type AuditRow } from "../store/control/schema.ts";
import { chainWriter, type ChainWriter } from "./chain-writer.ts";
import { WriteLock } from "./write-lock.ts";

export type AuditEvent = {
  actor: string;
  tenantId?: string | null;
  action: string;
  target?: string | null;
  outcome?: "success" | "failure" | "denied";
  client?: string | null;
  details?: Record<string, unknown>;
};

export type AuditEntry = {
  seq: number;
  time: string;
  actor: string;
  tenant: string | null;
  action: string;
  target: string | null;
  outcome: string;
  client: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
};

export type VerifyResult = { ok: true; entries: number } | { ok: false; entries: number; first_broken: number; reason: string };

const genesis = "0".repeat(64);

/** Canonical JSON: object keys sorted, so the same content always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export function entryHash(prevHash: string, row: Omit<AuditRow, "prevHash" | "hash">): string {
  const content = canonical([row.seq, row.at, row.actor, row.tenantId, row.action, row.target, row.outcome, row.client, row.details]);
  return new Bun.CryptoHasher("sha256").update(`${prevHash}\n${content}`).digest("hex");
}

export class AuditLog {
  readonly #control: ControlDatabase;
  readonly #clock: () => number;
  readonly #monotonic: MonotonicClock;
  readonly #lock = new WriteLock();
  readonly #writer: ChainWriter;
  /** Per-key throttle for noisy events (e.g. authentication failures per address): key → window start, suppressed. */
  readonly #throttle = new Map<string, { since: number; suppressed: number }>();

  readonly #log: Logger;
  #failures = 0;

  /**
   * `clock`: the wall clock entries record; `monotonic`: throttle windows (a wall-clock step neither floods nor
   * mutes); `busyTimeoutMs`: how long an append waits for another process's append (libSQL).
   */
  constructor(options: { control: ControlDatabase; clock: () => number; monotonic?: MonotonicClock; log?: Logger; busyTimeoutMs?: number }) {
    this.#control = options.control;
    this.#writer = chainWriter(options.control, options.busyTimeoutMs);
    this.#clock = options.clock;
    this.#monotonic = options.monotonic ?? monotonicNow;
    this.#log = options.log ?? createLogger({ level: "info", format: "auto" });
  }

  /** Entries that could not be written since start (for /metrics: mcp_mt_audit_write_failures_total). */
  get failures(): number {
    return this.#failures;
  }

  /**
   * Counts and logs (at error level, with what was lost) an entry that could not be written. For callers
   * that must not fail the request over it: an unwritten audit entry is never silent.
   */
  failed(error: unknown, event: AuditEvent): void {
    this.#failures++;
    this.#log.error("audit entry could not be written", {
      action: event.action,
      tenant: event.tenantId ?? null,
      actor: event.actor,
      outcome: event.outcome ?? "success",
      // drizzle's message is the failed SQL; the database's reason is in the cause.
      error: describeError(error),
      audit_write_failures: this.#failures,
    });
  }

  /** Appends one entry without ever rejecting: a failure is counted and logged (see `failed`). */
  record(event: AuditEvent): Promise<void> {
    return this.append(event).catch((error) => this.failed(error, event));
  }

  /** `appendThrottled` that never rejects: a failure is counted and logged. */
  recordThrottled(key: string, windowMs: number, event: AuditEvent): void {
    void this.appendThrottled(key, windowMs, event)?.catch((error) => this.failed(error, event));
  }

  /**
   * Appends one entry. The chain head is read and the entry inserted in one transaction that holds the chain's
   * lock across processes (see chain-transaction.ts), so instances sharing the control plane never fork it.
   */
  append(event: AuditEvent): Promise<void> {
    return this.appendMany([event]);
  }

  /** Appends entries in order, chained, in one transaction (bulk provisioning writes thousands at once). */
  appendMany(events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    // In-process order first (this process's appends queue here rather than on the database lock).
    return this.#lock.run(() =>
      this.#writer.append((head) => {
        let seq = head?.seq ?? 0;
        let prevHash = head?.hash ?? genesis;
        const at = this.#clock();
        return events.map((event) => {
          const row = { seq: ++seq, at, actor: event.actor, tenantId: event.tenantId ?? null, action: event.action, target: event.target ?? null, outcome: event.outcome ?? "success", client: event.client ?? null, details: event.details ?? {} } as const;
          const full = { ...row, prevHash, hash: entryHash(prevHash, row) };
          prevHash = full.hash;
          return full;
        });
      }),
    );
  }

  /** Closes the chain's own connection (libSQL). */
  close(): void {
    this.#writer.close();
  }

  /**
   * Appends at most one entry per `key` and window; the entries it held back are counted into the next
   * one's details (`suppressed`), so a flood cannot fill the log but is never silent.
   */
  appendThrottled(key: string, windowMs: number, event: AuditEvent): Promise<void> | undefined {
    const now = this.#monotonic();
    const state = this.#throttle.get(key);
    if (state && now - state.since < windowMs) {
      state.suppressed++;
      return undefined;
    }
    this.#throttle.set(key, { since: now, suppressed: 0 });
    if (this.#throttle.size > 10_000) this.#throttle.delete(this.#throttle.keys().next().value!);
    const suppressed = state?.suppressed ?? 0;
    return this.append(suppressed ? { ...event, details: { ...event.details, suppressed_since_last: suppressed } } : event);
  }

  async list(options: { tenant?: string; since?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    const conditions: SQL[] = [];
    if (options.tenant) conditions.push(eq(auditLog.tenantId, options.tenant));
    if (options.since !== undefined) conditions.push(gte(auditLog.at, options.since));
    const rows = await this.#control.db
      .select()
      .from(auditLog)
      .where(and(...conditions))
      .orderBy(desc(auditLog.seq))
      .limit(options.limit ?? 100);
    return rows.reverse().map(describe);
  }

  /** Walks the whole chain in order; reports the first entry that was edited, or that follows a deleted one. */
  async verify(): Promise<VerifyResult> {
    let prevHash = genesis;
    let expected = 1;
    let entries = 0;
    const pageSize = 1000;
    for (let after = 0; ; ) {
      const rows = await this.#control.db.select().from(auditLog).where(gte(auditLog.seq, after + 1)).orderBy(asc(auditLog.seq)).limit(pageSize);
      for (const row of rows) {
        entries++;
        if (row.seq !== expected) return { ok: false, entries, first_broken: expected, reason: `entry ${expected} is missing (deleted?): the next entry is ${row.seq}` };
        if (row.prevHash !== prevHash) return { ok: false, entries, first_broken: row.seq, reason: `entry ${row.seq} does not chain onto entry ${row.seq - 1}` };
        const { prevHash: _p, hash, ...content } = row;
        if (entryHash(prevHash, content) !== hash) return { ok: false, entries, first_broken: row.seq, reason: `entry ${row.seq} was modified: its content does not match its hash` };
        prevHash = hash;
        expected++;
      }
      if (rows.length < pageSize) return { ok: true, entries };
      after = rows.at(-1)!.seq;
    }
  }

  /** Every entry in order, for export. */
  async *all(): AsyncGenerator<AuditEntry> {
    for (let after = 0; ; ) {
      const rows = await this.#control.db.select().from(auditLog).where(gte(auditLog.seq, after + 1)).orderBy(asc(auditLog.seq)).limit(1000);
      for (const row of rows) yield describe(row);
      if (rows.length < 1000) return;
      after = rows.at(-1)!.seq;
    }
  }
}

function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
  return cause ? `${cause} (${message})` : message;
}

function describe(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    time: new Date(row.at).toISOString(),
    actor: row.actor,
    tenant: row.tenantId,
    action: row.action,
    target: row.target,
    outcome: row.outcome,
    client: row.client,
    details: row.details,
    prev_hash: row.prevHash,
    hash: row.hash,
  };
}
