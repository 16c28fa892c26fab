/** The CLI side of the admin API: the same Operator actions, sent to the running server over its Unix socket. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { AppError, type ErrorCode } from "../errors.ts";
import { operatorActor } from "../audit/actor.ts";
import { runningServer } from "../tenancy/server-lock.ts";
import type { Operator } from "./operator.ts";
import type { AdmissionRemote } from "../limits/gate.ts";
import type { Denied } from "../limits/denials.ts";

export const adminSocketPath = (dataDir: string) => join(dataDir, "admin.sock");

/** A caller for the running server's admin API, or null when no server serves this data directory. */
export function adminClient(config: Config): AdminClient | null {
  const socket = adminSocketPath(config.data.dir);
  if (!runningServer(config.data.dir) || !existsSync(socket)) return null;
  return new AdminClient(socket);
}

export class AdminClient {
  readonly #socket: string;

  constructor(socket: string) {
    this.#socket = socket;
  }

  get socket(): string {
    return this.#socket;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`http://mcp-mt${path}`, {
        method,
        unix: this.#socket,
        headers: { "content-type": "application/json", "x-mcp-mt-actor": operatorActor() },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      } as RequestInit);
    } catch (error) {
      throw new AppError("unavailable", `the running server's admin API (${this.#socket}) did not answer: ${(error as Error).message}`);
    }
    const json = (await response.json().catch(() => ({}))) as { error?: { code: ErrorCode; message: string } };
    if (!response.ok) throw new AppError(json.error?.code ?? "internal", json.error?.message ?? `admin API answered ${response.status}`);
    return json as T;
  }

  /** The running server's admission, for stdio sessions (src/admin/admission-routes.ts). */
  admission(): AdmissionRemote {
    return {
      admit: (request) => this.call("POST", "/v1/admission", request),
      release: async (ticket, endStream) => void (await this.call("POST", "/v1/admission/release", { ticket, end_stream: endStream })),
      chargeCpu: async (tenant, ms) => void (await this.call("POST", "/v1/admission/cpu", { tenant, cpu_ms: ms })),
      charge: async (tenant, method, tool) => (await this.call<{ denied: Denied | null }>("POST", "/v1/admission/charge", { tenant: { id: tenant.id, plan: tenant.plan, overrides: tenant.overrides }, method, tool })).denied,
    };
  }

  operator(config: Config): Operator {
    const enc = encodeURIComponent;
    return {
      via: "admin-api",
      config,
      clock: Date.now,
      tenants: {
        add: (input) => this.call("POST", "/v1/tenants", input),
        addMany: (inputs) => this.call("POST", "/v1/tenants/bulk", { tenants: inputs }),
        suspend: (id) => this.call("POST", `/v1/tenants/${enc(id)}/suspend`),
        resume: (id) => this.call("POST", `/v1/tenants/${enc(id)}/resume`),
        setPlan: (id, plan) => this.call("POST", `/v1/tenants/${enc(id)}/plan`, { plan }),
        setOverrides: (id, overrides, clear) => this.call("POST", `/v1/tenants/${enc(id)}/limits`, { overrides, clear }),
        remove: (id) => this.call("DELETE", `/v1/tenants/${enc(id)}`),
        check: (id) => this.call("POST", id === undefined ? "/v1/tenants/check" : `/v1/tenants/${enc(id)}/check`),
      },
      keys: {
        create: (tenantId, options = {}) => this.call("POST", `/v1/tenants/${enc(tenantId)}/keys`, { label: options.label, scopes: options.scopes, expires_at: options.expiresAt ?? null }),
        rotate: (keyId, graceMs) => this.call("POST", `/v1/keys/${enc(keyId)}/rotate`, { grace_ms: graceMs }),
        revoke: (keyId) => this.call("POST", `/v1/keys/${enc(keyId)}/revoke`),
      },
    };
  }
}
