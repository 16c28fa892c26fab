/**
 * UsageMeter: counts events per tenant, month and type in memory and writes them to the control plane in
 * batches (every metering.flush_interval_ms and at shutdown). A crash loses at most one interval. The month
 * comes from the wall clock; the flush interval and the flush lag run on the monotonic clock, so a wall-clock
 * step neither stops flushing nor makes the lag figure jump.
 */
import { and, eq, sql } from "drizzle-orm";
import { monotonicNow, realTimers, type MonotonicClock, type Timers } from "../limits/monotonic-clock.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { chunks } from "../store/control/chunks.ts";
import { usage } from "../store/control/schema.ts";

/** Event names: totals and per-tool counts. */
export const events = {
  toolCalls: "tool_calls",
  tool: (name: string) => `tool:${name}`,
  documentsCreated: "documents_created",
  searches: "searches",
  rateLimited: "rate_limited",
  quotaExceeded: "quota_exceeded",
} as const;

/** Calendar month (UTC) of a time, as YYYY-MM. */
export const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);

/** The first instant of the month after `month`. */
export function nextMonthStart(month: string): Date {
  const [y, m] = month.split("-").map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 1));
}

const sep = "\u0000";
/** Rows per multi-row upsert: 4 parameters each, far below SQLite's and PostgreSQL's parameter limits. */
const upsertChunk = 500;

export class UsageMeter {
  readonly #control: ControlDatabase;
  readonly #clock: () => number;
  readonly #monotonic: MonotonicClock;
  readonly #timers: Timers;
  /** Counts not yet written. */
  #pending = new Map<string, number>();
  /** Month-to-date totals (written + pending) of the events quotas need, loaded on first use. */
  readonly #totals = new Map<string, number>();
  #flushing: Promise<void> | undefined;
  #stopTimer: (() => void) | undefined;
  /** Wall-clock time of the last successful flush (0: none yet); for people, see flushLagMs for the lag. */
  lastFlushAt = 0;
  /** Monotonic time of the last successful flush. */
  #lastFlushMono: number | undefined;

  /** Drops everything held for a removed tenant (pending counts, cached totals), so a new tenant with its id starts clean. */
  forget(tenantId: string): void {
    const prefix = `${tenantId}${sep}`;
    for (const map of [this.#pending, this.#totals]) for (const key of [...map.keys()]) if (key.startsWith(prefix)) map.delete(key);
  }

  /** `clock` is the wall clock (months); `monotonic` and `timers` drive the flush interval and its lag. */
  constructor(options: { control: ControlDatabase; clock: () => number; monotonic?: MonotonicClock; timers?: Timers }) {
    this.#control = options.control;
    this.#clock = options.clock;
    this.#monotonic = options.monotonic ?? monotonicNow;
    this.#timers = options.timers ?? realTimers;
  }

  /** Starts periodic flushing. */
  start(intervalMs: number, onError: (error: unknown) => void): void {
    this.#flushed();
    this.#stopTimer?.();
    this.#stopTimer = this.#timers.every(intervalMs, () => void this.flush().catch(onError));
  }

  /** Milliseconds since usage was last written (monotonic), or null before the first flush or start. */
  flushLagMs(): number | null {
    return this.#lastFlushMono === undefined ? null : this.#monotonic() - this.#lastFlushMono;
  }

  #flushed(): void {
    this.lastFlushAt = this.#clock();
    this.#lastFlushMono = this.#monotonic();
  }

  #month = { from: 0, to: 0, name: "" };

  /** The current month, recomputed only when the clock leaves the cached one. */
  currentMonth(): string {
    const now = this.#clock();
    if (now < this.#month.from || now >= this.#month.to) {
      const name = monthOf(now);
      const [y, m] = name.split("-").map(Number) as [number, number];
      this.#month = { from: Date.UTC(y, m - 1, 1), to: nextMonthStart(name).getTime(), name };
    }
    return this.#month.name;
  }

  /** Counts `n` occurrences of an event for a tenant now. */
  add(tenantId: string, event: string, n = 1): void {
    const month = this.currentMonth();
    const key = `${tenantId}${sep}${month}${sep}${event}`;
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + n);
    if (this.#totals.has(key)) this.#totals.set(key, this.#totals.get(key)! + n);
  }

  /** The month-to-date count when it is already known in memory (no database read), else undefined. */
  knownMonthToDate(tenantId: string, event: string, month = this.currentMonth()): number | undefined {
    return this.#totals.get(`${tenantId}${sep}${month}${sep}${event}`);
  }

  /** Month-to-date count of one event for a tenant (written and pending). */
  async monthToDate(tenantId: string, event: string, month = this.currentMonth()): Promise<number> {
    const key = `${tenantId}${sep}${month}${sep}${event}`;
    const known = this.#totals.get(key);
    if (known !== undefined) return known;
    const [row] = await this.#control.db
      .select({ count: usage.count })
      .from(usage)
      .where(and(eq(usage.tenantId, tenantId), eq(usage.month, month), eq(usage.event, event)));
    // Pending counts may have grown while reading; the total is what is written plus what is not yet.
    const total = (row?.count ?? 0) + (this.#pending.get(key) ?? 0);
    if (!this.#totals.has(key)) this.#totals.set(key, total);
    return this.#totals.get(key)!;
  }

  /**
   * Month-to-date count read from the control plane now (never cached) plus this instance's unwritten counts:
   * what a shared quota counter is seeded with when Redis has none (other instances' unwritten counts, at
   * most one flush interval's worth, are the only thing it can miss).
   */
  async durableMonthToDate(tenantId: string, event: string, month = this.currentMonth()): Promise<number> {
    const [row] = await this.#control.db
      .select({ count: usage.count })
      .from(usage)
      .where(and(eq(usage.tenantId, tenantId), eq(usage.month, month), eq(usage.event, event)));
    return (row?.count ?? 0) + (this.#pending.get(`${tenantId}${sep}${month}${sep}${event}`) ?? 0);
  }

  /** Writes pending counts in one batch; on failure they stay pending for the next flush. */
  flush(): Promise<void> {
    return (this.#flushing ??= this.#flushOnce().finally(() => (this.#flushing = undefined)));
  }

  async #flushOnce(): Promise<void> {
    if (this.#pending.size === 0) {
      this.#flushed();
      return;
    }
    const batch = this.#pending;
    this.#pending = new Map();
    const db = this.#control.db;
    const rows = [...batch].map(([key, count]) => {
      const [tenantId, month, event] = key.split(sep) as [string, string, string];
      return { tenantId, month, event, count };
    });
    // Multi-row upserts: one statement per chunk instead of one per (tenant, month, event); building and
    // preparing a statement per row was ~150 µs of main-thread CPU per tenant touched (bench/RESULTS.md, cold tenants).
    // Keys are unique within a batch, so no row is updated twice by one statement (PostgreSQL refuses that).
    const statements = chunks(rows, upsertChunk).map((chunk) =>
      db
        .insert(usage)
        .values(chunk)
        .onConflictDoUpdate({ target: [usage.tenantId, usage.month, usage.event], set: { count: sql`${usage.count} + excluded.count` } }),
    );
    try {
      await db.batch(statements as [(typeof statements)[number], ...typeof statements]);
      this.#flushed();
    } catch (error) {
      for (const [key, count] of batch) this.#pending.set(key, (this.#pending.get(key) ?? 0) + count);
      throw error;
    }
  }

  /** Stops the timer and writes everything. */
  async stop(): Promise<void> {
    this.#stopTimer?.();
    this.#stopTimer = undefined;
    await this.flush();
  }

  /** Pending (unwritten) counts for a tenant and month, by event. */
  pendingFor(tenantId: string, month: string): Record<string, number> {
    const out: Record<string, number> = {};
    const prefix = `${tenantId}${sep}${month}${sep}`;
    for (const [key, count] of this.#pending) if (key.startsWith(prefix)) out[key.slice(prefix.length)] = count;
    return out;
  }
}
