/** One error hierarchy: a code, an HTTP status, a public message safe to show, and a private cause. */

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

const statusByCode: Record<ErrorCode, number> = {
  config_invalid: 500,
  invalid_input: 400,
  invalid_tenant_id: 400,
  not_found: 404,
  conflict: 409,
  already_exists: 409,
  unauthorized: 401,
  forbidden: 403,
  tenant_suspended: 403,
  payload_too_large: 413,
  rate_limited: 429,
  quota_exceeded: 429,
  timeout: 504,
  unavailable: 503,
  storage_full: 507,
  storage_damaged: 503,
  internal: 500,
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, { cause: options?.cause });
    this.name = "AppError";
    this.code = code;
    this.status = statusByCode[code];
    this.details = options?.details;
  }
}

export const invalidInput = (message: string, details?: Record<string, unknown>) =>
  new AppError("invalid_input", message, { details });

export const notFound = (message: string) => new AppError("not_found", message);

/** The message that may leave the process: ours for AppError, a generic one otherwise. */
export function publicMessage(error: unknown): string {
  return error instanceof AppError ? error.message : "internal error";
}
