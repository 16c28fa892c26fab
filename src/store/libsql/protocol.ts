/**
 * The messages between the tenant registry (main thread) and a store executor (a worker thread, or inline).
 * Plain structured-clone data only. Each cancellable call has a slot in a shared Int32Array: the executor
 * claims it (PENDING → RUNNING) before it runs, the registry cancels it (PENDING → CANCELLED) at the deadline,
 * so a call that was cancelled never runs, and one that started is known to have started.
 */
import type { ErrorCode } from "../../errors.ts";
import type { StoreCalls } from "../tenant-store.ts";
import type { StorageQuota } from "../tenant/documents.ts";
import type { SqliteOptions } from "../open.ts";

export const slotState = { free: 0, pending: 1, running: 2, cancelled: 3 } as const;

/** Operators' operations on one tenant, next to the document operations of StoreCalls. */
export type AdminCalls =
  | { op: "create"; args: [encryptionKey: string | null] }
  | { op: "touch"; args: [] }
  | { op: "pending"; args: [] }
  | { op: "backup"; args: [path: string] }
  /** PRAGMA integrity_check and the FTS5 index check; answers the problems found (none: []). */
  | { op: "check"; args: [] }
  | { op: "close"; args: [] };

export type ExecutorRequest =
  | ({ kind: "call"; id: number; slot: number; tenant: string; quota: StorageQuota; now: number } & StoreCalls)
  | ({ kind: "admin"; id: number; tenant: string } & AdminCalls)
  /** Which key opens this tenant's file (null: plain). Sent before a tenant's first call on an executor. */
  | { kind: "key"; tenant: string; key: string | null }
  /** Checkpoint and close every open file; answered once done. */
  | { kind: "shutdown"; id: number };

export type SerializedError = { code: ErrorCode; message: string; details?: Record<string, unknown>; cause?: string };

/** cpuMs: CPU time the executing thread spent on the request. */
export type ExecutorReply = { id: number; cpuMs: number } & ({ ok: true; value: unknown } | { ok: false; error: SerializedError } | { ok: "skipped" });

export type ExecutorInit = {
  dataDir: string;
  sqlite: SqliteOptions;
  slots: SharedArrayBuffer;
  /** Closed files after which the next open first collects their descriptors (see TenantFiles). */
  gcEvery: number;
};
