/**
 * StoreExecutor: runs tenant-store messages against the tenant files this thread owns. The same code runs on
 * a worker thread (the server) or inline (CLI commands); either way a call runs to completion before the next
 * one starts, so each file has one connection and one writer. On a worker, messages that arrived together are
 * handled as a batch, where the writes of one tenant share one transaction and one disk sync (group commit).
 */
import { AppError } from "../../errors.ts";
import { readOnlyOps } from "../tenant-store.ts";
import { DocumentStore } from "../tenant/documents.ts";
import { slotState, type ExecutorInit, type ExecutorReply, type ExecutorRequest, type SerializedError } from "./protocol.ts";
import { TenantFiles, type TenantDatabase } from "./tenant-files.ts";

type CallRequest = Extract<ExecutorRequest, { kind: "call" }>;
export type ReplyTo = (reply: ExecutorReply) => void;

const isWrite = (request: ExecutorRequest): request is CallRequest => request.kind === "call" && !readOnlyOps.has(request.op);

/**
 * Bounds of one group transaction: the most calls it takes, and how much CPU time (ms) it spends before it
 * commits what it has (the thread serves other tenants too, and the registry reads a long-running call as a
 * stall). CPU time, not wall time: a busy machine that preempts the thread does not shrink the groups.
 */
export const groupBounds = { calls: 64, cpuMs: 10 };

/** CPU time of this thread since the call (not wall time: waiting on a lock or the disk is not the tenant's CPU use). */
function cpuSince(): () => number {
  const started = process.threadCpuUsage();
  return () => {
    const used = process.threadCpuUsage(started);
    return (used.user + used.system) / 1000;
  };
}

/** A CPU clock of this thread that answers the time since its previous reading (the first: since its creation). */
function cpuLaps(): () => number {
  let last = process.threadCpuUsage();
  return () => {
    const now = process.threadCpuUsage();
    const ms = (now.user - last.user + now.system - last.system) / 1000;
    last = now;
    return ms;
  };
}

export class StoreExecutor {
  readonly #files: TenantFiles;
  readonly #keys = new Map<string, string | null>();
  readonly #slots: Int32Array;
  readonly #groupCommit: boolean;

  constructor(init: ExecutorInit) {
    this.#groupCommit = init.sqlite.groupCommit ?? true;
    // The registry on the main thread decides what stays open (a global LRU): no cap of our own.
    this.#files = new TenantFiles({ dataDir: init.dataDir, maxOpen: Number.MAX_SAFE_INTEGER, gcEvery: init.gcEvery, sqlite: init.sqlite, keyFor: async (id) => this.#keys.get(id) ?? null });
    this.#slots = new Int32Array(init.slots);
  }

  /** `lap`: a running CPU clock of a batch (one reading per call instead of two); without it the call is timed alone. */
  async handle(request: ExecutorRequest, lap?: () => number): Promise<ExecutorReply | null> {
    if (request.kind === "key") {
      this.#keys.set(request.tenant, request.key);
      return null;
    }
    if (request.kind === "shutdown") {
      await this.#files.closeAll();
      return { id: request.id, cpuMs: 0, ok: true, value: null };
    }
    if (request.kind === "call" && !this.#claim(request)) return { id: request.id, cpuMs: 0, ok: "skipped" };
    const cpuMs = lap ?? cpuSince();
    try {
      const value = request.kind === "call" ? await this.#call(request) : await this.#admin(request);
      return { id: request.id, cpuMs: cpuMs(), ok: true, value };
    } catch (error) {
      return { id: request.id, cpuMs: cpuMs(), ok: false, error: serializeError(error, request.tenant) };
    }
  }

  /**
   * Messages that arrived together, in order, except that the writes of one tenant are gathered into groups
   * (a later write joins an earlier one's group unless a message of the same tenant that is not a write comes
   * between): each group runs in one transaction, a savepoint per call, and is answered after its one COMMIT.
   * Messages of different tenants are independent, so running a group ahead of another tenant's message is safe.
   */
  async handleBatch(requests: ExecutorRequest[], reply: ReplyTo, flush: () => void = () => undefined): Promise<void> {
    const taken = new Uint8Array(requests.length);
    // Reading a thread's CPU time is a system call (~3 µs, as much as a tenth of a point read): calls handled
    // one after another share the readings, each charged from the end of the one before.
    const lap = cpuLaps();
    for (let i = 0; i < requests.length; i++) {
      if (taken[i]) continue;
      const request = requests[i]!;
      // Answers already made go out before anything that may take long (a search, a write, opening a file).
      if (!this.#isQuick(request)) flush();
      const group = this.#groupCommit && isWrite(request) ? gather(requests, taken, i) : [];
      if (group.length > 1) {
        await this.#runGroup(group, reply);
        lap();
        continue;
      }
      const answer = await this.handle(request, lap);
      if (answer) reply(answer);
    }
  }

  /** Messages that cannot take long: a key, or a point read or the storage figures of a tenant whose file is open. */
  #isQuick(request: ExecutorRequest): boolean {
    if (request.kind === "key") return true;
    return request.kind === "call" && (request.op === "get" || request.op === "storage") && this.#files.isOpen(request.tenant);
  }

  /** A call cancelled while it waited (deadline passed, client gone, moved to another worker) never runs. */
  #claim(request: CallRequest): boolean {
    return Atomics.compareExchange(this.#slots, request.slot, slotState.pending, slotState.running) === slotState.pending;
  }

  #call(request: CallRequest): Promise<unknown> {
    return this.#files.use(request.tenant, (db) => run(db, request));
  }

  /** One tenant's writes, in as few transactions as the bounds allow (usually one). */
  async #runGroup(group: CallRequest[], reply: ReplyTo): Promise<void> {
    let rest = group;
    try {
      await this.#files.use(group[0]!.tenant, async (db) => {
        while (rest.length) rest = await this.#commitGroup(db, rest, reply);
      });
    } catch (error) {
      // The file could not be opened (or closed under us): every call not yet answered gets that error.
      for (const request of rest) reply(this.#claim(request) ? failure(request, error, 0) : skipped(request));
    }
  }

  /**
   * Runs calls of one tenant in one transaction until the bounds are reached, each under its own savepoint (in
   * DocumentStore's transaction helper), so a call that fails (quota, conflict, not found) undoes only its own
   * changes and is answered at once; the others are answered after the COMMIT, with its outcome. Returns the
   * calls left for the next transaction.
   */
  async #commitGroup(db: TenantDatabase, calls: CallRequest[], reply: ReplyTo): Promise<CallRequest[]> {
    const spent = cpuSince();
    const ran: { request: CallRequest; value: unknown; cpuMs: number }[] = [];
    let begun = false;
    let i = 0;
    for (; i < calls.length; i++) {
      if (i >= groupBounds.calls || (ran.length > 0 && spent() > groupBounds.cpuMs)) break;
      const request = calls[i]!;
      if (!this.#claim(request)) {
        reply(skipped(request));
        continue;
      }
      const cpuMs = cpuSince();
      if (!begun) {
        try {
          db.native.exec("BEGIN IMMEDIATE");
          begun = true;
        } catch (error) {
          // The write lock is held elsewhere past the busy timeout: this call fails as it would alone; the rest try again.
          reply(failure(request, error, cpuMs()));
          return calls.slice(i + 1);
        }
      }
      try {
        ran.push({ request, value: await run(db, request), cpuMs: cpuMs() });
      } catch (error) {
        reply(failure(request, error, cpuMs()));
        // SQLite ended the whole transaction (a full disk does): the writes of the calls before this one are gone too.
        if (!db.native.inTransaction) {
          for (const done of ran) reply(failure(done.request, error, done.cpuMs));
          return calls.slice(i + 1);
        }
      }
    }
    if (!begun) return calls.slice(i);
    const commitCpu = cpuSince();
    try {
      db.native.exec("COMMIT");
    } catch (error) {
      try {
        if (db.native.inTransaction) db.native.exec("ROLLBACK");
      } catch {
        // the COMMIT's error is the one to report
      }
      for (const done of ran) reply(failure(done.request, error, done.cpuMs));
      return calls.slice(i);
    }
    // The disk sync is shared: so is its CPU time.
    const share = commitCpu() / Math.max(1, ran.length);
    for (const done of ran) reply({ id: done.request.id, cpuMs: done.cpuMs + share, ok: true, value: done.value });
    return calls.slice(i);
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

/** Runs one document call on an open tenant file. */
function run(db: TenantDatabase, request: CallRequest): Promise<unknown> {
  const store = new DocumentStore(db, () => request.now, request.quota);
  // One dispatch table, typed by the message union: op and args always match a DocumentStore method.
  const method = store[request.op] as (...args: unknown[]) => Promise<unknown>;
  return method.apply(store, request.args);
}

/** The write at `first` and every later write of its tenant that can join it (see handleBatch); marks them taken. */
function gather(requests: ExecutorRequest[], taken: Uint8Array, first: number): CallRequest[] {
  const lead = requests[first] as CallRequest;
  const group = [lead];
  taken[first] = 1;
  for (let j = first + 1; j < requests.length && group.length < groupBounds.calls; j++) {
    const next = requests[j]!;
    if (next.kind === "shutdown") break;
    if (next.tenant !== lead.tenant || taken[j]) continue;
    if (!isWrite(next)) break;
    group.push(next);
    taken[j] = 1;
  }
  return group;
}

const skipped = (request: CallRequest): ExecutorReply => ({ id: request.id, cpuMs: 0, ok: "skipped" });
const failure = (request: CallRequest, error: unknown, cpuMs: number): ExecutorReply => ({ id: request.id, cpuMs, ok: false, error: serializeError(error, request.tenant) });

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
