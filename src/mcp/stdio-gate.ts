/**
 * The per-request gate of a stdio session, the same steps as the HTTP pipeline's, in the same order:
 * authenticate (through the Authenticator's ≤ 1 s cache, so a revoked key, a suspended tenant or a plan
 * change applies within a second), the scope check, admission against the tenant's limits (the running
 * server's when there is one), then a tenant context bound to this request's own deadline.
 */
import type { Authenticated } from "../auth/authenticate.ts";
import type { Scope } from "../auth/scopes.ts";
import type { Config, Plan } from "../config/schema.ts";
import { AppError } from "../errors.ts";
import { requiredScope } from "../http/middleware/authorize.ts";
import { deniedError, type Admitter } from "../limits/gate.ts";
import { effectivePlan } from "../limits/plan.ts";
import type { TenantContext } from "../tenancy/context.ts";

export type GateRequest = { method: string; tool: string | null; args: unknown };

export type Opened = {
  ok: true;
  context: TenantContext;
  /** Aborted at the deadline (or when the client cancels): the store call of this request is bound to it. */
  deadline: AbortController;
  timeoutMs: number;
  release(): void;
  endStream?: () => void;
};

export type Refused = { ok: false; error: unknown };

export type StdioGateDeps = {
  config: Config;
  authenticate(): Promise<Authenticated>;
  /** Where this request is admitted (the running server, else in-process); null when limits are disabled. */
  admitter(): Admitter | null;
  toolScopes: ReadonlyMap<string, Scope>;
  contextFor(auth: Authenticated, plan: Plan, signal: AbortSignal): TenantContext;
  /** Resolves once what finished requests cost (their CPU time) is charged where they were admitted. */
  settled?(): Promise<void>;
};

export class StdioGate {
  readonly #deps: StdioGateDeps;

  constructor(deps: StdioGateDeps) {
    this.#deps = deps;
  }

  async open({ method, tool, args }: GateRequest): Promise<Opened | Refused> {
    const deps = this.#deps;
    let auth: Authenticated;
    try {
      auth = await deps.authenticate();
    } catch (error) {
      // A suspended tenant's refusals cost units too, as on HTTP: hammering them ends in 429.
      if (error instanceof AppError && error.code === "tenant_suspended") return { ok: false, error: (await this.#charge(error.details?.tenant as Authenticated["tenant"] | undefined, method, tool)) ?? error };
      // Worded as HTTP words it (middleware/authenticate.ts), so a client shows the same reason on both.
      if (error instanceof AppError && error.code === "unauthorized") return { ok: false, error: new AppError("unauthorized", `Unauthorized: ${error.message}`) };
      return { ok: false, error };
    }
    const scope = requiredScope(deps.toolScopes as Map<string, Scope>, method, tool);
    if (scope !== null && !auth.principal.scopes.includes(scope)) {
      const what = tool ? `the tool ${tool}` : method;
      const forbidden = new AppError("forbidden", `Forbidden: ${what} needs the ${scope} scope, which this credential does not have`, { details: { requiredScope: scope } });
      return { ok: false, error: (await this.#charge(auth.tenant, method, tool)) ?? forbidden };
    }
    const admitter = deps.admitter();
    let plan: Plan;
    let release = () => undefined as void;
    let endStream: (() => void) | undefined;
    if (admitter) {
      const result = await admitter.admit({ tenant: auth.tenant, method, tool, args, scopes: auth.principal.scopes });
      if (!result.ok) return { ok: false, error: deniedError(result) };
      plan = result.plan;
      release = result.release;
      endStream = result.endStream;
    } else plan = effectivePlan(deps.config, auth.tenant);
    const timeoutMs = Math.min(plan.request_timeout_ms, deps.config.server.request_timeout_ms);
    const deadline = new AbortController();
    return { ok: true, context: deps.contextFor(auth, plan, deadline.signal), deadline, timeoutMs, release, ...(endStream ? { endStream } : {}) };
  }

  /** Awaited before a response goes out, so the next request, over any transport, sees this one's cost. */
  settled(): Promise<void> {
    return this.#deps.settled?.() ?? Promise.resolve();
  }

  async #charge(tenant: Authenticated["tenant"] | undefined, method: string, tool: string | null): Promise<AppError | null> {
    const admitter = this.#deps.admitter();
    if (!tenant || !admitter) return null;
    const denied = await admitter.chargeRefusal(tenant, method, tool).catch(() => null);
    return denied ? deniedError(denied) : null;
  }
}
