/**
 * The admission half of the per-request gate, shared by HTTP (middleware/admit.ts) and stdio
 * (mcp/admitting-transport.ts): one interface over in-process admission and admission through a running
 * server's admin API, and the one conversion of a refusal into an AppError.
 */
import type { Plan } from "../config/schema.ts";
import { AppError } from "../errors.ts";
import type { TenantRow } from "../store/control/schema.ts";
import type { Admitted, AdmissionRequest } from "./admission.ts";
import type { Denied } from "./denials.ts";

/** Decides on requests against a tenant's limits: the server's own Admission, or a running server's over its admin socket. */
export interface Admitter {
  admit(request: AdmissionRequest): Promise<Admitted | Denied>;
  chargeRefusal(tenant: Pick<TenantRow, "id" | "plan" | "overrides">, method: string | null, tool: string | null): Promise<Denied | null>;
  /** Charges CPU time the tenant's work used (measured by whoever ran it) to the budget admission checks. */
  chargeCpu(tenantId: string, ms: number): void;
}

/** A refusal as the one error currency: 429 rate_limited / quota_exceeded, or 503 when the limiter could not decide. */
export function deniedError(denied: Denied): AppError {
  const code = denied.status === 503 ? "unavailable" : denied.data.quota !== undefined ? "quota_exceeded" : "rate_limited";
  return new AppError(code, denied.message, { details: denied.data, headers: denied.headers, rpcCode: denied.status === 503 ? undefined : denied.code });
}

/** The admin API's wire form of a decision (POST /v1/admission). */
export type AdmissionAnswer = { ok: true; ticket: string; plan: Plan; headers: Record<string, string>; stream: boolean } | { ok: false; denied: Denied };

/** What the stdio process needs of the running server's admin API to be admitted through it. */
export interface AdmissionRemote {
  admit(request: { tenant: string; method: string | null; tool: string | null; args_valid: boolean | null; scopes?: readonly string[] }): Promise<AdmissionAnswer>;
  release(ticket: string, endStream: boolean): Promise<void>;
  charge(tenant: Pick<TenantRow, "id" | "plan" | "overrides">, method: string | null, tool: string | null): Promise<Denied | null>;
  chargeCpu(tenant: string, ms: number): Promise<void>;
}

/** What admission needs of a catalogue tool to check arguments before sending only their validity. */
type ToolSchema = { input: { safeParse(value: unknown): { success: boolean } } };

/**
 * Admission through a running server: its windows, quotas and concurrency caps are the tenant's, so stdio
 * calls count against the same limits as HTTP calls. The arguments never leave this process, only whether
 * they fit the tool's schema (what decides billing).
 */
export class RemoteAdmitter implements Admitter {
  readonly #remote: AdmissionRemote;
  readonly #tools: ReadonlyMap<string, ToolSchema>;
  /** CPU time not yet sent, per tenant: the store calls of one request are sent together. */
  readonly #cpu = new Map<string, number>();
  #sending = false;

  constructor(remote: AdmissionRemote, tools: ReadonlyMap<string, ToolSchema>) {
    this.#remote = remote;
    this.#tools = tools;
  }

  async admit(request: AdmissionRequest): Promise<Admitted | Denied> {
    const known = request.tool === null ? undefined : this.#tools.get(request.tool);
    const argsValid = request.method === "tools/call" && known ? known.input.safeParse(request.args ?? {}).success : null;
    const answer = await this.#remote.admit({ tenant: request.tenant.id, method: request.method, tool: request.tool, args_valid: argsValid, scopes: request.scopes });
    if (!answer.ok) return answer.denied;
    let released = false;
    let ended = !answer.stream;
    const release = () => {
      if (released) return;
      released = true;
      if (ended) void this.#remote.release(answer.ticket, false).catch(() => undefined);
    };
    const endStream = () => {
      if (ended) return;
      ended = true;
      // The server frees the slot and the ticket together (and on its own after a while, if this process dies).
      void this.#remote.release(answer.ticket, true).catch(() => undefined);
    };
    return { ok: true, plan: answer.plan, headers: answer.headers, release, ...(answer.stream ? { endStream } : {}) };
  }

  chargeRefusal(tenant: Pick<TenantRow, "id" | "plan" | "overrides">, method: string | null, tool: string | null): Promise<Denied | null> {
    return this.#remote.charge(tenant, method, tool);
  }

  /**
   * Sent to the server's budget (the one its admission checks), not kept here: CPU used over stdio counts
   * against the same cpu_ms_per_minute as HTTP. Lost only if the server stops between the call and the send.
   */
  chargeCpu(tenantId: string, ms: number): void {
    if (!(ms > 0) || !Number.isFinite(ms)) return;
    this.#cpu.set(tenantId, (this.#cpu.get(tenantId) ?? 0) + ms);
    if (this.#sending) return;
    this.#sending = true;
    queueMicrotask(() => void this.#send());
  }

  /** Charges sent but not yet acknowledged (tests, and a clean end of a session). */
  async flushCpu(): Promise<void> {
    while (this.#sending) await this.#inFlight;
  }

  #inFlight: Promise<void> = Promise.resolve();

  async #send(): Promise<void> {
    this.#inFlight = (async () => {
      while (this.#cpu.size) {
        const batch = [...this.#cpu];
        this.#cpu.clear();
        await Promise.all(batch.map(([tenant, ms]) => this.#remote.chargeCpu(tenant, ms).catch(() => undefined)));
      }
    })();
    try {
      await this.#inFlight;
    } finally {
      this.#sending = false;
    }
  }
}
