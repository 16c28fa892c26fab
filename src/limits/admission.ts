/**
 * Admission: what happens after the tenant is known and before the MCP handler. In order: the tenant's
 * concurrency cap (and its stream cap for subscriptions/listen), its CPU budget, the monthly tool-call quota,
 * then one of its two sliding windows: calls (weighted by method and tool) or discovery (every method of
 * weight 0). No method is free. Shared by HTTP and stdio so both answer the same way.
 *
 * Billing: a tools/call is billed (usage row, quota, per-tool event) only when it will reach a catalogue
 * tool: a known name, a scope the caller has, arguments the tool's schema accepts. Anything else still
 * spends rate units but is only counted as a refusal.
 */
import type { RefusalKind } from "../audit/refusal-counter.ts";
import type { Config, Plan } from "../config/schema.ts";
import { events, nextMonthStart, type UsageMeter } from "../metering/usage-meter.ts";
import type { TenantRow } from "../store/control/schema.ts";
import { ConcurrencyGate } from "./concurrency.ts";
import type { CpuBudget } from "./cpu-budget.ts";
import { Denials, policyNames, rateLimitHeaders, type Budget, type Denied } from "./denials.ts";
import type { MonotonicClock, Timers } from "./monotonic-clock.ts";
import { effectivePlan } from "./plan.ts";
import { InProcessRateLimiter, type RateLimiter } from "./rate-limiter.ts";
import type { RedisQuota } from "./redis-quota.ts";

export { rateLimitHeaders, type Denied };

export type Admitted = {
  ok: true;
  plan: Plan;
  headers: Record<string, string>;
  /** Frees the concurrency slot: call when the response is complete (or its stream has started). */
  release(): void;
  /** subscriptions/listen only: frees the tenant's stream slot; call when the stream ends. */
  endStream?: () => void;
};

/** What admission needs to know of a catalogue tool to tell whether a call reaches it. */
export type CatalogueTool = { scope: string; input: { safeParse(value: unknown): { success: boolean } } };

export type AdmissionRequest = {
  tenant: TenantRow;
  method: string | null;
  tool: string | null;
  /** tools/call arguments, checked against the tool's schema to decide whether the call is billed. */
  args?: unknown;
  /** The caller's scopes (a call to a tool outside them never reaches it). Omitted: every scope. */
  scopes?: readonly string[];
  /** Whether `args` fit the tool's schema, when the caller checked already (admission through the admin API). */
  argsValid?: boolean;
};

/** The methods that open a long-lived stream (held against the plan's max_streams until it ends). */
const streamMethods = new Set(["subscriptions/listen"]);

export type AdmissionOptions = {
  config: Config;
  limiter: RateLimiter;
  meter: UsageMeter;
  /** Wall clock: quota months and their reset times. */
  clock: () => number;
  /** The catalogue's tools by name: only calls to these are billed. */
  tools: ReadonlyMap<string, CatalogueTool>;
  /** Per-tenant CPU time, charged by whoever runs tenant work; absent: no CPU budget. */
  cpu?: CpuBudget;
  /** Waits for a concurrency slot (monotonic; injectable for tests). */
  timers?: Timers;
  onRefused?: (tenantId: string, kind: RefusalKind) => void;
  /** Monthly quotas shared by every instance (Redis); absent: counted in this process from the meter. */
  quota?: RedisQuota;
  /** What to do when the shared quota cannot answer: open counts in this process, closed refuses (503). */
  failureMode?: "open" | "closed";
  /** Told once per outage of the shared quota (for the log). */
  onQuotaUnavailable?: (error: unknown) => void;
};

export class Admission {
  readonly #config: Config;
  readonly #limiter: RateLimiter;
  readonly #meter: UsageMeter;
  readonly #clock: () => number;
  readonly #tools: ReadonlyMap<string, CatalogueTool>;
  readonly #cpu: CpuBudget | undefined;
  readonly #gate: ConcurrencyGate;
  readonly #streams = new ConcurrencyGate(0);
  readonly #denials: Denials;
  readonly #onRefused: (tenantId: string, kind: RefusalKind) => void;
  readonly #quota: RedisQuota | undefined;
  readonly #failureMode: "open" | "closed";
  readonly #onQuotaUnavailable: (error: unknown) => void;

  constructor(options: AdmissionOptions) {
    this.#config = options.config;
    this.#limiter = options.limiter;
    this.#meter = options.meter;
    this.#clock = options.clock;
    this.#tools = options.tools;
    this.#cpu = options.cpu;
    this.#onRefused = options.onRefused ?? (() => undefined);
    this.#quota = options.quota;
    this.#failureMode = options.failureMode ?? "open";
    this.#onQuotaUnavailable = options.onQuotaUnavailable ?? (() => undefined);
    this.#gate = new ConcurrencyGate(options.config.limits.concurrency_wait_ms, options.timers);
    this.#denials = new Denials(options.config.limits.error_code);
  }

  /** Units a request costs from the call budget (0: it is a discovery call, costing one discovery unit). */
  weightOf(method: string | null, tool: string | null): number {
    const { limits } = this.#config;
    if (method === "tools/call" && tool !== null && Object.hasOwn(limits.tool_weights, tool)) return limits.tool_weights[tool]!;
    if (method !== null && Object.hasOwn(limits.method_weights, method)) return limits.method_weights[method]!;
    return limits.default_weight;
  }

  /** Which window a request spends from, and how many units. */
  costOf(method: string | null, tool: string | null): { budget: Budget; units: number } {
    const weight = this.weightOf(method, tool);
    return weight > 0 ? { budget: "rate_limit_per_minute", units: weight } : { budget: "discovery_per_minute", units: 1 };
  }

  inFlight(tenantId: string): number {
    return this.#gate.inFlight(tenantId);
  }

  openStreams(tenantId: string): number {
    return this.#streams.inFlight(tenantId);
  }

  /** Effective plans, per tenant row object (the authenticator reuses a row for up to a second). */
  readonly #plans = new WeakMap<TenantRow, Plan>();

  #planOf(tenant: TenantRow): Plan {
    let plan = this.#plans.get(tenant);
    if (!plan) this.#plans.set(tenant, (plan = effectivePlan(this.#config, tenant)));
    return plan;
  }

  /**
   * Decides on one request. The common case (slot free, counts in memory, in-process limiter) runs without
   * awaiting anything: this is on every request's path.
   */
  async admit(request: AdmissionRequest): Promise<Admitted | Denied> {
    const { tenant, method, tool } = request;
    const plan = this.#planOf(tenant);
    // The slot comes first, so a request refused for concurrency never spends rate-limit units.
    const release = this.#gate.tryAcquire(tenant.id, plan.max_concurrency) ?? (await this.#gate.acquire(tenant.id, plan.max_concurrency));
    if (!release) return this.#refuse(tenant.id, "concurrency_limited", this.#denials.concurrency(tenant.id, plan.max_concurrency));
    let endStream: (() => void) | undefined;
    const refused = (kind: RefusalKind | null, denied: Denied) => {
      release();
      endStream?.();
      return kind === null ? denied : this.#refuse(tenant.id, kind, denied);
    };
    if (method !== null && streamMethods.has(method)) {
      endStream = this.#streams.tryAcquire(tenant.id, plan.max_streams) ?? undefined;
      if (!endStream) return refused("streams_limited", this.#denials.streams(tenant.id, plan.max_streams));
    }
    const { limits } = this.#config;

    if (this.#cpu) {
      const cpu = this.#cpu.check(tenant.id, plan.cpu_ms_per_minute);
      if (!cpu.ok) return refused("cpu_limited", this.#denials.cpu(tenant.id, plan.cpu_ms_per_minute, cpu.usedMs, this.#cpu.windowMs, cpu.retryAfterMs));
    }

    const billed = method === "tools/call" ? this.#reachesTool(request) : null;
    /** The month whose shared counter this call took a unit of (given back if the window refuses it). */
    let taken: string | null = null;
    if (billed === "billed") {
      const month = this.#meter.currentMonth();
      const shared = this.#quota ? await this.#takeShared(tenant.id, month, plan.monthly_tool_calls) : null;
      if (shared === "unavailable") return refused(null, this.#denials.unavailable());
      const used = shared ? shared.used : (this.#meter.knownMonthToDate(tenant.id, events.toolCalls, month) ?? (await this.#meter.monthToDate(tenant.id, events.toolCalls, month)));
      if (shared ? !shared.admitted : used >= plan.monthly_tool_calls) {
        this.#meter.add(tenant.id, events.quotaExceeded);
        const resets = nextMonthStart(month);
        return refused("quota_exceeded", this.#denials.quota(month, used, plan.monthly_tool_calls, resets, resets.getTime() - this.#clock()));
      }
      if (shared) taken = month;
    }

    const { budget, units } = this.costOf(method, tool);
    const decided = this.#consume(tenant.id, plan, budget, units);
    const window = decided instanceof Promise ? await decided : decided;
    const headers = rateLimitHeaders(window, limits.window_ms, policyNames[budget]);
    if (!window.admitted) {
      // Awaited: the next call must see the unit back. Only refused calls wait for it.
      if (taken !== null) await this.#quota!.refund(tenant.id, events.toolCalls, taken).catch(() => undefined);
      const denied = this.#denials.window(tenant.id, budget, window, units, limits.window_ms, headers);
      // A shared limiter that could not decide (503) is not the tenant's refusal: not counted.
      if (window.unavailable) return refused(null, denied);
      if (budget === "rate_limit_per_minute") this.#meter.add(tenant.id, events.rateLimited);
      return refused(budget === "rate_limit_per_minute" ? "rate_limited" : "discovery_limited", denied);
    }
    if (billed === "billed") {
      this.#meter.add(tenant.id, events.toolCalls);
      this.#meter.add(tenant.id, events.tool(tool!));
    } else if (billed !== null) {
      this.#onRefused(tenant.id, billed);
    }
    return { ok: true, plan, headers, release, ...(endStream ? { endStream } : {}) };
  }

  /**
   * A request refused before admission (403 for a missing scope or a suspended tenant) still costs what it
   * would have cost if admitted. While the window has room this returns null and the caller answers with
   * its own refusal; once it is spent, the 429 to send instead, so a client hammering a refusal is slowed
   * like any other.
   */
  /** CPU time a tenant's work used (its store calls, wherever they ran), for the CPU budget `admit` checks. */
  chargeCpu(tenantId: string, ms: number): void {
    this.#cpu?.charge(tenantId, ms);
  }

  async chargeRefusal(tenant: Pick<TenantRow, "id" | "plan" | "overrides">, method: string | null, tool: string | null): Promise<Denied | null> {
    const plan = effectivePlan(this.#config, tenant);
    const { budget, units } = this.costOf(method, tool);
    const window = await this.#consume(tenant.id, plan, budget, units);
    if (window.admitted || window.unavailable) return null;
    const kind = budget === "rate_limit_per_minute" ? "rate_limited" : "discovery_limited";
    return this.#refuse(tenant.id, kind, this.#denials.window(tenant.id, budget, window, units, this.#config.limits.window_ms, rateLimitHeaders(window, this.#config.limits.window_ms, policyNames[budget])));
  }

  /**
   * One unit of the month's shared counter. When Redis cannot answer: null under failure mode open (this
   * process decides from its own counts), "unavailable" under closed.
   */
  async #takeShared(tenantId: string, month: string, limit: number) {
    try {
      return await this.#quota!.take(tenantId, events.toolCalls, month, nextMonthStart(month), limit, () => this.#meter.durableMonthToDate(tenantId, events.toolCalls, month));
    } catch (error) {
      this.#onQuotaUnavailable(error);
      return this.#failureMode === "open" ? null : ("unavailable" as const);
    }
  }

  #consume(tenantId: string, plan: Plan, budget: Budget, units: number) {
    const key = budget === "rate_limit_per_minute" ? `t:${tenantId}` : `d:${tenantId}`;
    const limit = plan[budget];
    const windowMs = this.#config.limits.window_ms;
    return this.#limiter instanceof InProcessRateLimiter ? this.#limiter.consumeNow(key, limit, windowMs, units) : this.#limiter.consume(key, limit, windowMs, units);
  }

  /** Whether a tools/call will reach a catalogue tool (billed), or why not. */
  #reachesTool({ tool, args, scopes, argsValid }: AdmissionRequest): "billed" | "unknown_tool" | "invalid_arguments" {
    const known = tool === null ? undefined : this.#tools.get(tool);
    if (!known || (scopes !== undefined && !scopes.includes(known.scope))) return "unknown_tool";
    if (argsValid !== undefined) return argsValid ? "billed" : "invalid_arguments";
    // The SDK validates `arguments ?? {}` against the same schema before calling the tool.
    return known.input.safeParse(args ?? {}).success ? "billed" : "invalid_arguments";
  }

  #refuse(tenantId: string, kind: RefusalKind, denied: Denied): Denied {
    this.#onRefused(tenantId, kind);
    return denied;
  }
}
