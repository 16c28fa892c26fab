/**
 * Live figures per tenant for operators (admin API, TUI) and Prometheus metrics: counters since start,
 * the last 60 seconds per second (requests, rate-limited, errors), and recent latencies for percentiles.
 * Memory is bounded: 60 slots and 512 latencies per tenant, plus one series per label set in metrics. Label
 * values come only from fixed sets (MCP method names, catalogue tool names, the operator's tenants): whatever
 * else a client sends is recorded as "other", so invented names cannot grow the series.
 */
import { monotonicNow, type MonotonicClock } from "../limits/monotonic-clock.ts";

/** The MCP methods (requests and notifications) a client may send; anything else is labelled "other". */
export const mcpMethods: ReadonlySet<string> = new Set([
  "initialize",
  "ping",
  "server/discover",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/read",
  "resources/templates/list",
  "resources/subscribe",
  "resources/unsubscribe",
  "subscriptions/listen",
  "prompts/list",
  "prompts/get",
  "completion/complete",
  "logging/setLevel",
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "notifications/roots/list_changed",
]);

export const otherLabel = "other";

const seconds = 60;
const latencySamples = 512;

type Window = { second: number; requests: number; limited: number; errors: number };

class TenantLive {
  readonly slots: Window[] = Array.from({ length: seconds }, () => ({ second: 0, requests: 0, limited: 0, errors: 0 }));
  readonly latencies = new Float64Array(latencySamples);
  latencyCount = 0;
  total = { requests: 0, limited: 0, errors: 0 };

  slot(second: number): Window {
    const slot = this.slots[second % seconds]!;
    if (slot.second !== second) Object.assign(slot, { second, requests: 0, limited: 0, errors: 0 });
    return slot;
  }
}

export type TenantFigures = {
  requests_per_minute: number;
  rate_limited_per_minute: number;
  errors_per_minute: number;
  latency_ms: { p50: number; p95: number; p99: number } | null;
  totals: { requests: number; rate_limited: number; errors: number };
};

/** Histogram buckets (seconds) of the request-duration metric. */
export const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Series = { count: number };
type Histogram = { buckets: number[]; sum: number; count: number };

export class LiveStats {
  /** When the process started (wall clock, for people and process_start_time_seconds). */
  readonly startedAt: number;
  readonly #startedMono: number;
  readonly #tenants = new Map<string, TenantLive>();
  /** requests_total by "tenant\0method\0tool\0status". */
  readonly requests = new Map<string, Series>();
  /** request duration by "tenant\0method" (tenant empty when labels are off). */
  readonly durations = new Map<string, Histogram>();
  readonly #monotonic: () => number;
  readonly #tenantLabels: boolean;
  readonly #tools: ReadonlySet<string>;

  /** `tools`: the catalogue's tool names, the only tool labels recorded. */
  /**
   * `monotonic` places requests in per-second slots (a wall-clock step must not empty or overfill the last
   * minute); `clock` only dates the start.
   */
  constructor(options: { clock?: () => number; monotonic?: MonotonicClock; tenantLabels?: boolean; tools?: Iterable<string> } = {}) {
    this.#monotonic = options.monotonic ?? monotonicNow;
    this.startedAt = (options.clock ?? Date.now)();
    this.#startedMono = this.#monotonic();
    this.#tenantLabels = options.tenantLabels ?? true;
    this.#tools = new Set(options.tools ?? []);
  }

  /** Records one finished request of a tenant (null: unauthenticated, whose method and tool are never read). */
  record(tenant: string | null, rawMethod: string | null, rawTool: string | null, status: number, durationMs: number): void {
    const labelTenant = this.#tenantLabels ? (tenant ?? "") : "";
    const method = tenant === null || rawMethod === null ? null : mcpMethods.has(rawMethod) ? rawMethod : otherLabel;
    const tool = method === null || rawTool === null ? null : this.#tools.has(rawTool) ? rawTool : otherLabel;
    // Statuses come from this server's own responses, but keep the label to the HTTP range regardless.
    status = status >= 100 && status <= 599 ? status : 0;
    const key = `${labelTenant}\u0000${method ?? ""}\u0000${tool ?? ""}\u0000${status}`;
    const series = this.requests.get(key);
    if (series) series.count++;
    else this.requests.set(key, { count: 1 });
    const hKey = `${labelTenant}\u0000${method ?? ""}`;
    let histogram = this.durations.get(hKey);
    if (!histogram) this.durations.set(hKey, (histogram = { buckets: durationBuckets.map(() => 0), sum: 0, count: 0 }));
    const secondsTaken = durationMs / 1000;
    histogram.sum += secondsTaken;
    histogram.count++;
    for (let i = 0; i < durationBuckets.length; i++) if (secondsTaken <= durationBuckets[i]!) histogram.buckets[i]!++;
    if (tenant === null) return;
    let live = this.#tenants.get(tenant);
    if (!live) this.#tenants.set(tenant, (live = new TenantLive()));
    const slot = live.slot(Math.floor(this.#monotonic() / 1000));
    slot.requests++;
    live.total.requests++;
    if (status === 429) {
      slot.limited++;
      live.total.limited++;
    } else if (status >= 500) {
      slot.errors++;
      live.total.errors++;
    }
    live.latencies[live.latencyCount++ % latencySamples] = durationMs;
  }

  /** Milliseconds since start, on the monotonic clock. */
  uptimeMs(): number {
    return this.#monotonic() - this.#startedMono;
  }

  figures(tenant: string): TenantFigures {
    const live = this.#tenants.get(tenant);
    if (!live) return { requests_per_minute: 0, rate_limited_per_minute: 0, errors_per_minute: 0, latency_ms: null, totals: { requests: 0, rate_limited: 0, errors: 0 } };
    const now = Math.floor(this.#monotonic() / 1000);
    let requests = 0;
    let limited = 0;
    let errors = 0;
    for (const slot of live.slots) {
      if (slot.second > now - seconds) {
        requests += slot.requests;
        limited += slot.limited;
        errors += slot.errors;
      }
    }
    const n = Math.min(live.latencyCount, latencySamples);
    const sorted = Array.from(live.latencies.subarray(0, n)).sort((a, b) => a - b);
    const pick = (q: number) => Math.round(sorted[Math.min(n - 1, Math.floor(q * n))]! * 100) / 100;
    return {
      requests_per_minute: requests,
      rate_limited_per_minute: limited,
      errors_per_minute: errors,
      latency_ms: n ? { p50: pick(0.5), p95: pick(0.95), p99: pick(0.99) } : null,
      totals: { requests: live.total.requests, rate_limited: live.total.limited, errors: live.total.errors },
    };
  }

  tenants(): string[] {
    return [...this.#tenants.keys()];
  }

  /** Requests per second over the last minute, all tenants. */
  requestsPerSecond(): number {
    let total = 0;
    for (const tenant of this.#tenants.keys()) total += this.figures(tenant).requests_per_minute;
    return Math.round((total / seconds) * 100) / 100;
  }
}
