/**
 * One error hierarchy: a code, an HTTP status, a JSON-RPC code, a public message safe to show, public
 * details, and a private cause. It is the only error type that crosses a boundary; each edge (HTTP,
 * stdio, admin API) maps it with `wireError`, from the one table below.
 */
import { isPgUnreachable } from "./store/pg-connect.ts";

export type ErrorCode =
  | "config_invalid"
  | "invalid_input"
  | "invalid_tenant_id"
  | "not_found"
  | "conflict"
  | "already_exists"
  | "unauthorized"
  | "forbidden"
  | "tenant_suspended"
  | "payload_too_large"
  | "rate_limited"
  | "quota_exceeded"
  | "timeout"
  | "unavailable"
  | "storage_full"
  | "storage_damaged"
  | "internal";

/**
 * JSON-RPC codes. -32700..-32600 are JSON-RPC's own; -32020..-32099 are reserved by MCP 2026-07-28; ours
 * sit in -32000..-32019. Rate and quota refusals carry `limits.error_code` (default -32010) instead.
 */
export const rpcErrorCodes = {
  parseError: -32700,
  invalidRequest: -32600,
  invalidParams: -32602,
  internalError: -32603,
  serverError: -32000,
  unauthorized: -32001,
  notFound: -32002,
  forbidden: -32003,
  timeout: -32004,
  unavailable: -32005,
  storageFull: -32006,
  storageDamaged: -32007,
  conflict: -32009,
  limited: -32010,
} as const;

type Wire = { status: number; rpc: number; retryAfter?: number };

/** Every code's HTTP status and JSON-RPC code (and Retry-After seconds for what is worth retrying). */
export const errorTable: Record<ErrorCode, Wire> = {
  config_invalid: { status: 500, rpc: rpcErrorCodes.internalError },
  invalid_input: { status: 400, rpc: rpcErrorCodes.invalidParams },
  invalid_tenant_id: { status: 400, rpc: rpcErrorCodes.invalidParams },
  not_found: { status: 404, rpc: rpcErrorCodes.notFound },
  conflict: { status: 409, rpc: rpcErrorCodes.conflict },
  already_exists: { status: 409, rpc: rpcErrorCodes.conflict },
  unauthorized: { status: 401, rpc: rpcErrorCodes.unauthorized },
  forbidden: { status: 403, rpc: rpcErrorCodes.forbidden },
  tenant_suspended: { status: 403, rpc: rpcErrorCodes.forbidden },
  payload_too_large: { status: 413, rpc: rpcErrorCodes.serverError },
  rate_limited: { status: 429, rpc: rpcErrorCodes.limited },
  quota_exceeded: { status: 429, rpc: rpcErrorCodes.limited },
  timeout: { status: 504, rpc: rpcErrorCodes.timeout },
  unavailable: { status: 503, rpc: rpcErrorCodes.unavailable, retryAfter: 1 },
  storage_full: { status: 507, rpc: rpcErrorCodes.storageFull },
  storage_damaged: { status: 503, rpc: rpcErrorCodes.storageDamaged },
  internal: { status: 500, rpc: rpcErrorCodes.internalError },
};

export type AppErrorOptions = {
  cause?: unknown;
  details?: Record<string, unknown>;
  /** Response headers that go with it (Retry-After, RateLimit fields). */
  headers?: Record<string, string>;
  /** A configured JSON-RPC code instead of the table's (limits.error_code for rate and quota refusals). */
  rpcCode?: number;
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly rpcCode: number;
  readonly details?: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options?: AppErrorOptions) {
    super(message, { cause: options?.cause });
    this.name = "AppError";
    this.code = code;
    this.status = errorTable[code].status;
    this.rpcCode = options?.rpcCode ?? errorTable[code].rpc;
    this.details = options?.details;
    this.headers = options?.headers ?? {};
  }
}

export const invalidInput = (message: string, details?: Record<string, unknown>) =>
  new AppError("invalid_input", message, { details });

export const notFound = (message: string) => new AppError("not_found", message);

/** The message that may leave the process: ours for AppError, a generic one otherwise. */
export function publicMessage(error: unknown): string {
  if (!(error instanceof AppError) && isPgUnreachable(error)) return "PostgreSQL is unreachable; retry shortly";
  return error instanceof AppError ? error.message : "internal error";
}

/** What an edge sends for an error: HTTP status and headers, and the JSON-RPC error object. */
export type WireError = { status: number; headers: Record<string, string>; error: { code: number; message: string; data?: Record<string, unknown> } };

/**
 * The one mapping of an error to the wire. Anything that is not an AppError is an internal error whose
 * message never leaves the process (`reference` names it in the log, e.g. the request id).
 */
export function wireError(error: unknown, reference?: string): WireError {
  // The control plane's database going away is an outage the client should retry, not an internal error.
  if (!(error instanceof AppError) && isPgUnreachable(error)) error = new AppError("unavailable", "PostgreSQL is unreachable; retry shortly");
  if (!(error instanceof AppError)) {
    return { status: 500, headers: {}, error: { code: rpcErrorCodes.internalError, message: `Internal error${reference ? ` (request ${reference})` : ""}` } };
  }
  const retryAfter = errorTable[error.code].retryAfter;
  const headers = retryAfter !== undefined && !("retry-after" in error.headers) ? { "retry-after": String(retryAfter), ...error.headers } : error.headers;
  // Details are public by contract, except what an edge uses internally (a suspended tenant's plan).
  const data = error.details && error.code !== "tenant_suspended" ? error.details : undefined;
  return { status: error.status, headers, error: { code: error.rpcCode, message: error.message, ...(data ? { data } : {}) } };
}

/** The error of a store call whose request was cancelled or ran past its deadline (every backend answers it alike). */
export function abortError(signal: AbortSignal): AppError {
  const reason = signal.reason;
  if (reason instanceof AppError) return reason;
  return new AppError("timeout", reason instanceof Error ? reason.message : "the request was cancelled");
}
