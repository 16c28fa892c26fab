/**
 * Per-tenant CPU time over a trailing window (plan key cpu_ms_per_minute). Whoever runs a tenant's work
 * measures the CPU time it used and charges it here (the worker pool, per store call); admission asks
 * `check` before admitting the tenant's next request. Charges land in one-second slots, so memory per
 * tenant is fixed (61 slots for a minute) and "the trailing minute" is exact to within one slot (a charge may
 * count up to one slot longer, never shorter).
 */
import { monotonicNow, type MonotonicClock } from "./monotonic-clock.ts";

export type CpuVerdict = { ok: true; usedMs: number } | { ok: false; usedMs: number; retryAfterMs: number };

const slotsPerWindow = 60;
/**
 * A charge made in slot s counts until (s + 1) * slot + window: never forgotten early, at most one slot late.
 * So 61 slots can be live at once.
 */
const cells = slotsPerWindow + 1;

class TenantCpu {
  /** Milliseconds charged per slot, and which slot (absolute index) each cell holds. */
  readonly ms = new Float64Array(cells);
  readonly slot = new Float64Array(cells).fill(-1);
  newest = -1;
}

/** Whether slot `s` is still inside the window when the current slot is `current`. */
const live = (s: number, current: number) => s >= current - slotsPerWindow;

export class CpuBudget {
  readonly windowMs: number;
  readonly #slotMs: number;
  readonly #clock: MonotonicClock;
  readonly #tenants = new Map<string, TenantCpu>();
  #lastSweep: number;

  constructor(options: { windowMs?: number; clock?: MonotonicClock } = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.#slotMs = this.windowMs / slotsPerWindow;
    this.#clock = options.clock ?? monotonicNow;
    this.#lastSweep = this.#clock();
  }

  /** Tenants with CPU time inside the window (for tests and status). */
  get size(): number {
    return this.#tenants.size;
  }

  /** Records `ms` of CPU time used by the tenant's work, now. Ignores nonsense (negative, NaN). */
  /** Drops a removed tenant's charges. */
  forget(tenantId: string): void {
    this.#tenants.delete(tenantId);
  }

  charge(tenantId: string, ms: number): void {
    if (!(ms > 0) || !Number.isFinite(ms)) return;
    const now = this.#clock();
    this.#sweepIfDue(now);
    const slot = Math.floor(now / this.#slotMs);
    let cpu = this.#tenants.get(tenantId);
    if (!cpu) this.#tenants.set(tenantId, (cpu = new TenantCpu()));
    const i = slot % cells;
    if (cpu.slot[i] !== slot) {
      cpu.slot[i] = slot;
      cpu.ms[i] = 0;
    }
    cpu.ms[i]! += ms;
    cpu.newest = Math.max(cpu.newest, slot);
  }

  /** CPU milliseconds the tenant used in the trailing window. */
  used(tenantId: string): number {
    const cpu = this.#tenants.get(tenantId);
    if (!cpu) return 0;
    const current = Math.floor(this.#clock() / this.#slotMs);
    let sum = 0;
    for (let i = 0; i < cells; i++) if (live(cpu.slot[i]!, current)) sum += cpu.ms[i]!;
    return sum;
  }

  /**
   * Whether the tenant may start more work under `budgetMs` per window: refused once the trailing window's
   * CPU time reaches the budget, with the time until enough of it has aged out to fall under the budget.
   */
  check(tenantId: string, budgetMs: number): CpuVerdict {
    const cpu = this.#tenants.get(tenantId);
    if (!cpu) return { ok: true, usedMs: 0 };
    const now = this.#clock();
    const current = Math.floor(now / this.#slotMs);
    const inside: { slot: number; ms: number }[] = [];
    let usedMs = 0;
    for (let i = 0; i < cells; i++) {
      if (live(cpu.slot[i]!, current) && cpu.ms[i]! > 0) {
        inside.push({ slot: cpu.slot[i]!, ms: cpu.ms[i]! });
        usedMs += cpu.ms[i]!;
      }
    }
    if (usedMs < budgetMs) return { ok: true, usedMs };
    // Oldest slots leave the window first; a slot s is out once now >= (s + 1) * slot + window.
    inside.sort((a, b) => a.slot - b.slot);
    let remaining = usedMs;
    for (const { slot, ms } of inside) {
      remaining -= ms;
      if (remaining < budgetMs) return { ok: false, usedMs, retryAfterMs: Math.max(0, (slot + 1) * this.#slotMs + this.windowMs - now) };
    }
    return { ok: false, usedMs, retryAfterMs: this.windowMs };
  }

  /** Forgets tenants with nothing left in the window (at most once a window, on the charge path). */
  #sweepIfDue(now: number): void {
    if (now - this.#lastSweep < this.windowMs) return;
    this.#lastSweep = now;
    const current = Math.floor(now / this.#slotMs);
    for (const [id, cpu] of this.#tenants) if (!live(cpu.newest, current)) this.#tenants.delete(id);
  }
}
