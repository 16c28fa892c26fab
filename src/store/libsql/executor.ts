/**
 * StoreExecutor: runs tenant-store messages against the tenant files this thread owns. The same code runs on
 * a worker thread (the server) or inline (CLI commands); either way a call runs to completion before the next
 * one starts, so each file has one connection and one writer.
 */
import { AppError } from "../../errors.ts";
import { DocumentStore } from "../tenant/documents.ts";
import { slotState, type ExecutorInit, type ExecutorReply, type ExecutorRequest, type SerializedError } from "./protocol.ts";
import { TenantFiles } from "./tenant-files.ts";

export class StoreExecutor {
  readonly #files: TenantFiles;
  readonly #keys = new Map<string, string | null>();
  readonly #slots: Int32Array;

  constructor(init: ExecutorInit) {
    // The registry on the main thread decides what stays open (a global LRU): no cap of our own.
    this.#files = new TenantFiles({ dataDir: init.dataDir, maxOpen: Number.MAX_SAFE_INTEGER, gcEvery: 8, sqlite: init.sqlite, keyFor: async (id) => this.#keys.get(id) ?? null });
    this.#slots = new Int32Array(init.slots);
  }

  async handle(request: ExecutorRequest): Promise<ExecutorReply | null> {
    if (request.kind === "key") {
      this.#keys.set(request.tenant, request.key);
      return null;
    }
    if (request.kind === "shutdown") {
      await this.#files.closeAll();
      return { id: request.id, cpuMs: 0, ok: true, value: null };
    }
    // A call cancelled while it waited (deadline passed, client gone, moved to another worker) never runs.
    if (request.kind === "call" && Atomics.compareExchange(this.#slots, request.slot, slotState.pending, slotState.running) !== slotState.pending) {
      return { id: request.id, cpuMs: 0, ok: "skipped" };
    }
    // CPU time of this thread (not wall time: waiting on a lock or the disk is not the tenant's CPU use).
    const started = process.threadCpuUsage();
    const cpuMs = () => {
      const used = process.threadCpuUsage(started);
      return (used.user + used.system) / 1000;
    };
    try {
      const value = request.kind === "call" ? await this.#call(request) : await this.#admin(request);
      return { id: request.id, cpuMs: cpuMs(), ok: true, value };
    } catch (error) {
      return { id: request.id, cpuMs: cpuMs(), ok: false, error: serializeError(error, request.tenant) };
    }
  }

  #call(request: Extract<ExecutorRequest, { kind: "call" }>): Promise<unknown> {
    return this.#files.use(request.tenant, async (db) => {
      const store = new DocumentStore(db, () => request.now, request.quota);
      // One dispatch table, typed by the message union: op and args always match a DocumentStore method.
      const method = store[request.op] as (...args: unknown[]) => Promise<unknown>;
      return method.apply(store, request.args);
    });
  }

  async #admin(request: Extract<ExecutorRequest, { kind: "admin" }>): Promise<unknown> {
    const { tenant } = request;
    switch (request.op) {
      case "create":
        this.#keys.set(tenant, request.args[0]);
        return this.#files.create(tenant, request.args[0]);
      case "touch":
        return this.#files.use(tenant, async () => null);
      case "pending":
        return this.#files.pending(tenant);
      case "backup":
        return this.#files.use(tenant, async (t) => void t.native.prepare("VACUUM INTO ?").run(request.args[0]));
      case "check":
        return this.#files.use(tenant, async (t) => integrityProblems(t.native));
      case "close":
        this.#keys.delete(tenant);
        return this.#files.close(tenant);
    }
  }
}

/** What PRAGMA integrity_check and FTS5's integrity-check find wrong with a tenant database ([]: nothing). */
function integrityProblems(native: { prepare(sql: string): { all(): unknown[]; run(): unknown } }): string[] {
  const rows = native.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[];
  const problems = rows.map((r) => r.integrity_check).filter((line) => line !== "ok");
  try {
    native.prepare("INSERT INTO documents_fts(documents_fts) VALUES ('integrity-check')").run();
  } catch (error) {
    problems.push(`full-text index: ${error instanceof Error ? error.message : String(error)}`);
  }
  return problems;
}

/**
 * An error as it crosses the thread boundary: ours keep code, message and details; SQLite's are named by
 * cause (storage full, damaged file, too many open files) so the client and the log say what happened.
 */
export function serializeError(error: unknown, tenant: string): SerializedError {
  if (error instanceof AppError) return { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  const code = typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : "";
  const cause = error instanceof Error ? `${code ? `${code}: ` : ""}${error.message}` : String(error);
  const message = error instanceof Error ? error.message : "";
  if (code.startsWith("SQLITE_FULL") || /database or disk is full|ENOSPC/i.test(message)) {
    return { code: "storage_full", message: "The server's storage is full: nothing was saved. Try again later; the operator has to free disk space.", cause };
  }
  if (code.startsWith("SQLITE_CORRUPT") || code.startsWith("SQLITE_NOTADB") || /malformed|not a database/i.test(message)) {
    return { code: "storage_damaged", message: `Tenant storage damaged: the database of tenant ${tenant} cannot be read. The operator has been told; retry after it is repaired.`, details: { tenant }, cause };
  }
  if (/EMFILE|too many open files/i.test(message) || code.startsWith("SQLITE_CANTOPEN")) {
    return { code: "unavailable", message: "The server cannot open this workspace's storage right now (too many open files); retry shortly.", details: { retryAfterSeconds: 1 }, cause };
  }
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return { code: "unavailable", message: "This workspace's storage is busy; retry shortly.", details: { retryAfterSeconds: 1 }, cause };
  }
  return { code: "internal", message: "internal error", cause };
}

/** The error a serialized one stands for, on the receiving side. */
export function deserializeError(error: SerializedError): AppError {
  return new AppError(error.code, error.message, { details: error.details, cause: error.cause });
}
