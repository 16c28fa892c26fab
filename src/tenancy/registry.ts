/**
 * TenantRegistry: the libSQL backend of the tenant-store boundary. Tenant files are owned by a pool of store
 * workers (threads); each open tenant has a home worker holding its one connection. The main thread (HTTP,
 * authentication, admission, MCP) never runs a query: it sends messages and awaits replies.
 *
 * A statement cannot be interrupted from the thread that runs it (libSQL's interrupt must come from another
 * thread, and Worker.terminate waits for the statement), so the registry defends in three ways:
 * - a call past its deadline is answered at once (504) and, if it had not started, never runs;
 * - a worker that has been running one tenant's calls for `stallMs` while other tenants' calls wait (one long
 *   statement, or a run of them back to back) is detached: its other tenants move to a fresh worker and their
 *   waiting calls are re-sent there (they had not run: their slots say so), so only the busy tenant waits on its
 *   own work; the detached worker is retired once it is idle;
 * - search costs are bounded by construction (src/store/tenant/documents.ts), so this is rarely needed.
 */
import { existsSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { abortError, AppError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { deserializeError, StoreExecutor } from "../store/libsql/executor.ts";
import { slotState, type AdminCalls, type ExecutorInit, type ExecutorReply, type ExecutorRequest } from "../store/libsql/protocol.ts";
import type { SqliteOptions } from "../store/open.ts";
import { storeOverMessages, type StoreBinding, type StoreCalls, type TenantStorage, type TenantStore } from "../store/tenant-store.ts";
import { DamagedTenants } from "./damaged-tenants.ts";
import { tenantDbPath } from "./tenant-id.ts";

export type RegistryOptions = {
  dataDir: string;
  /** Most tenant files open at once across all workers (least recently used closed beyond it). */
  maxOpen: number;
  sqlite: SqliteOptions;
  /** The tenant's data key when its database is encrypted, else null. */
  keyFor?: (id: string) => Promise<string | null>;
  /** Store worker threads; 0 runs every call inline on this thread (CLI commands). */
  workers: number;
  /** A worker running one call this long has its other tenants moved to a fresh worker. */
  stallMs?: number;
  /** Called with the CPU time each tenant call used on its worker thread (the CPU-time budget charges it). */
  onBusy?: (tenant: string, ms: number) => void;
  log?: Logger;
  clock?: () => number;
};

/** The default worker count: one per CPU. */
export const defaultWorkers = () => availableParallelism();

const slotsPerWorker = 4096;

type Pending = {
  tenant: string;
  request: ExecutorRequest & { kind: "call" | "admin" };
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Answered already (deadline, abort): the reply, when it comes, only frees the slot. */
  settled: boolean;
  /** When the monitor first saw this call running. */
  runningSince?: number;
};

type Home = { tenant: string; worker: StoreWorker };

/** One executor (a thread, or inline) with its calls in flight and the tenants homed on it. */
class StoreWorker {
  readonly slots: Int32Array;
  readonly free: number[] = [];
  readonly inflight = new Map<number, Pending>();
  readonly tenants = new Set<string>();
  detached = false;
  retiring = false;
  /** The tenant the stall monitor last saw running here, and since when it has been running without a break. */
  holder: { tenant: string; since: number } | null = null;
  #post: (request: ExecutorRequest) => void;
  #terminate: () => void;

  constructor(init: Omit<ExecutorInit, "slots">, onReply: (worker: StoreWorker, reply: ExecutorReply) => void, onCrash: (worker: StoreWorker, error: string) => void, inline: boolean) {
    const buffer = new SharedArrayBuffer(slotsPerWorker * 4);
    this.slots = new Int32Array(buffer);
    for (let i = slotsPerWorker - 1; i >= 0; i--) this.free.push(i);
    if (inline) {
      const executor = new StoreExecutor({ ...init, slots: buffer });
      this.#post = (request) => void executor.handle(request).then((reply) => reply && onReply(this, reply));
      this.#terminate = () => undefined;
      return;
    }
    const worker = new Worker(workerEntry(), { smol: true } as WorkerOptions);
    worker.onmessage = (event: MessageEvent<ExecutorReply[]>) => {
      for (const reply of event.data) onReply(this, reply);
    };
    worker.onerror = (event) => onCrash(this, event.message);
    worker.unref();
    worker.postMessage({ kind: "init", init: { ...init, slots: buffer } });
    // Messages of one event-loop turn cross the thread boundary together: most of a postMessage's cost is per
    // message, not per byte (a call's round trip measured ~27 µs of CPU alone, ~8 µs in batches of 8).
    let outbox: ExecutorRequest[] = [];
    const flush = () => {
      const batch = outbox;
      outbox = [];
      worker.postMessage(batch);
    };
    this.#post = (request) => {
      if (outbox.push(request) === 1) setImmediate(flush);
    };
    this.#terminate = () => worker.terminate();
  }

  post(request: ExecutorRequest): void {
    this.#post(request);
  }

  terminate(): void {
    this.#terminate();
  }
}

/** The worker's entry: a file of the compiled binary (an extra entrypoint of the build), or the source file. */
function workerEntry(): string {
  return import.meta.url.includes("$bunfs") ? "./store/libsql/worker.ts" : new URL("../store/libsql/worker.ts", import.meta.url).href;
}

export class TenantRegistry implements TenantStorage {
  readonly #o: RegistryOptions;
  readonly #active: StoreWorker[] = [];
  readonly #detached = new Set<StoreWorker>();
  /** Started ahead of need, so a stall hands tenants to a worker that is already up (a start costs ~50 ms). */
  #spare: StoreWorker | undefined;
  /** Open tenants in recency order (a hit is deleted and re-inserted): the global LRU. */
  readonly #homes = new Map<string, Home>();
  /** Keys already fetched, so a tenant can move to another worker without awaiting the control plane. */
  readonly #keys = new Map<string, string | null>();
  /** Tenants whose file was found damaged (logged once each; cleared by a good call or a restore). */
  readonly damaged = new DamagedTenants();
  #nextId = 1;
  #monitor: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: RegistryOptions) {
    this.#o = options;
    const count = Math.max(1, options.workers);
    for (let i = 0; i < count; i++) this.#active.push(this.#spawn());
    const stallMs = options.stallMs ?? 50;
    if (options.workers > 0) {
      this.#spare = this.#spawn();
      this.#monitor = setInterval(() => this.#watch(stallMs), Math.max(5, stallMs / 4));
      this.#monitor.unref();
    }
  }

  /** Who is told each tenant call's CPU time on its worker (the CPU-time budget). */
  observeBusy(observer: (tenant: string, ms: number) => void): void {
    this.#o.onBusy = observer;
  }

  get openCount(): number {
    return this.#homes.size;
  }

  isOpen(id: string): boolean {
    return this.#homes.has(id);
  }

  pathOf(id: string): string {
    return tenantDbPath(this.#o.dataDir, id);
  }

  async exists(id: string): Promise<boolean> {
    return this.#fileExists(id);
  }

  #fileExists(id: string): boolean {
    return existsSync(this.pathOf(id));
  }

  /** Live figures for metrics and the admin API. */
  figures(): { workers: number; detached: number; open: number; inflight: number } {
    const all = [...this.#active, ...this.#detached];
    return { workers: this.#active.length, detached: this.#detached.size, open: this.#homes.size, inflight: all.reduce((n, w) => n + w.inflight.size, 0) };
  }

  store(id: string, binding: StoreBinding): TenantStore {
    return storeOverMessages(<T>(message: StoreCalls) => this.#call(id, message, binding) as Promise<T>);
  }

  async create(id: string, encryptionKey: string | null = null): Promise<void> {
    if (this.#fileExists(id)) throw new AppError("already_exists", `database file for tenant ${id} already exists`);
    this.#keys.set(id, encryptionKey);
    await this.#admin(id, { op: "create", args: [encryptionKey] });
  }

  async remove(id: string): Promise<void> {
    await this.close(id);
    this.damaged.clear(id);
    this.#keys.delete(id);
    for (const suffix of ["", "-wal", "-shm"]) rmSync(this.pathOf(id) + suffix, { force: true });
  }

  async touch(id: string): Promise<void> {
    await this.#admin(id, { op: "touch", args: [] });
  }

  async pending(id: string): Promise<string[]> {
    // An open file was migrated when it was opened.
    if (this.#homes.has(id)) return [];
    return (await this.#admin(id, { op: "pending", args: [] }, false)) as string[];
  }

  /** Integrity problems of the tenant's file ([]: none); a file that cannot even be opened throws storage_damaged. */
  async check(id: string): Promise<string[]> {
    return (await this.#admin(id, { op: "check", args: [] })) as string[];
  }

  async backupTo(id: string, path: string): Promise<void> {
    await this.#admin(id, { op: "backup", args: [path] });
  }

  async close(id: string): Promise<void> {
    // The key is read again on the next open: a restore or `tenant encrypt` may have changed it.
    this.#keys.delete(id);
    const home = this.#homes.get(id);
    if (!home) return;
    this.#homes.delete(id);
    home.worker.tenants.delete(id);
    await this.#send(home.worker, id, { kind: "admin", id: this.#nextId++, tenant: id, op: "close", args: [] });
  }

  async closeAll(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#monitor);
    const workers = [...this.#active, ...this.#detached, ...(this.#spare ? [this.#spare] : [])];
    this.#spare = undefined;
    this.#homes.clear();
    await Promise.all(workers.map((worker) => this.#shutdown(worker)));
  }

  /** A document call on the tenant's home worker, bound to the request's quota and deadline. */
  #call(tenant: string, message: StoreCalls, binding: StoreBinding): Promise<unknown> {
    const { signal } = binding;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    // The hot path: an open tenant is sent to at once, without waiting a turn.
    const home = this.#homes.get(tenant);
    if (home && !this.#closed) {
      this.#homes.delete(tenant);
      this.#homes.set(tenant, home);
      return this.#dispatch(home.worker, tenant, message, binding);
    }
    return this.#homeOf(tenant).then((worker) => {
      if (signal?.aborted) throw abortError(signal);
      return this.#dispatch(worker, tenant, message, binding);
    });
  }

  #dispatch(worker: StoreWorker, tenant: string, message: StoreCalls, { quota, signal }: StoreBinding): Promise<unknown> {
    const request = { kind: "call", id: this.#nextId++, slot: -1, tenant, quota, now: (this.#o.clock ?? Date.now)(), op: message.op, args: message.args } as ExecutorRequest & { kind: "call" };
    return this.#send(worker, tenant, request, signal);
  }

  /** An operator's call on the tenant's home worker (or, for a tenant not open, any worker: `home` false). */
  async #admin(tenant: string, call: AdminCalls, home = true): Promise<unknown> {
    const request = { kind: "admin", id: this.#nextId++, tenant, ...call } as ExecutorRequest & { kind: "admin" };
    const worker = home ? await this.#homeOf(tenant, call.op === "create") : this.#leastLoaded();
    return this.#send(worker, tenant, request);
  }

  /** Sends one call; with a signal, its abort answers the call at once (and cancels it if it has not started). */
  #send(worker: StoreWorker, tenant: string, request: ExecutorRequest & { kind: "call" | "admin" }, signal?: AbortSignal): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (request.kind === "call") {
        const slot = worker.free.pop();
        if (slot === undefined) return reject(new AppError("unavailable", "The server is overloaded; retry shortly.", { details: { retryAfterSeconds: 1 } }));
        request.slot = slot;
        Atomics.store(worker.slots, slot, slotState.pending);
      }
      const pending: Pending = { tenant, request, resolve, reject, settled: false };
      if (signal) {
        // The listener goes when the call is answered either way (no extra promise per call for that).
        const onAbort = () => this.#cancel(request.id, abortError(signal));
        signal.addEventListener("abort", onAbort, { once: true });
        pending.resolve = (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        };
        pending.reject = (error) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        };
      }
      worker.inflight.set(request.id, pending);
      worker.post(request);
    });
  }

  /** The worker holding the tenant's connection, assigning one (and telling it the tenant's key) if none. */
  async #homeOf(tenant: string, creating = false): Promise<StoreWorker> {
    if (this.#closed) throw new AppError("unavailable", "the server is shutting down; retry shortly");
    const home = this.#homes.get(tenant);
    if (home) {
      this.#homes.delete(tenant);
      this.#homes.set(tenant, home);
      return home.worker;
    }
    if (!creating && !this.#keys.has(tenant)) {
      if (!this.#fileExists(tenant)) throw new AppError("not_found", `tenant ${tenant} has no database`);
      this.#keys.set(tenant, (await this.#o.keyFor?.(tenant)) ?? null);
      // Another call may have homed it while the key was read.
      const raced = this.#homes.get(tenant);
      if (raced) return raced.worker;
    }
    const worker = this.#leastLoaded();
    this.#place(tenant, worker);
    this.#evict();
    return worker;
  }

  #place(tenant: string, worker: StoreWorker): void {
    worker.tenants.add(tenant);
    this.#homes.set(tenant, { tenant, worker });
    worker.post({ kind: "key", tenant, key: this.#keys.get(tenant) ?? null });
  }

  #leastLoaded(): StoreWorker {
    let best = this.#active[0]!;
    for (const worker of this.#active) if (worker.tenants.size + worker.inflight.size < best.tenants.size + best.inflight.size) best = worker;
    return best;
  }

  /** Closes the least recently used tenants beyond the cap (never one with calls in flight). */
  #evict(): void {
    if (this.#homes.size <= this.#o.maxOpen) return;
    for (const [tenant, home] of this.#homes) {
      if (this.#homes.size <= this.#o.maxOpen) break;
      if (home.worker.detached || [...home.worker.inflight.values()].some((p) => p.tenant === tenant)) continue;
      void this.close(tenant).catch((error) => this.#o.log?.warn("closing a tenant file failed", { tenant, error: String(error) }));
    }
  }

  #onReply = (worker: StoreWorker, reply: ExecutorReply): void => {
    const pending = worker.inflight.get(reply.id);
    if (!pending) return;
    worker.inflight.delete(reply.id);
    if (pending.request.kind === "call") {
      Atomics.store(worker.slots, pending.request.slot, slotState.free);
      worker.free.push(pending.request.slot);
    }
    if (reply.ok !== "skipped" && pending.request.kind === "call") this.#o.onBusy?.(pending.tenant, reply.cpuMs);
    if (!pending.settled) {
      if (reply.ok === true) {
        if (pending.request.kind === "call" && this.damaged.get(pending.tenant)) this.damaged.clear(pending.tenant);
        pending.resolve(reply.value);
      } else if (reply.ok === false) {
        const error = deserializeError(reply.error);
        if (error.code === "storage_damaged") {
          // Once per tenant, not per request: every call of a damaged tenant fails the same way until it is repaired.
          if (this.damaged.mark(pending.tenant, reply.error.cause ?? error.message)) {
            this.#o.log?.error("tenant storage damaged; its calls get 503 until it is restored (mcp-mt tenant check, mcp-mt restore … --tenant)", { tenant: pending.tenant, code: error.code, cause: reply.error.cause });
          }
        } else if (error.code === "internal" || error.code === "storage_full" || error.code === "unavailable") {
          this.#o.log?.error(error.code === "internal" ? "tenant store failed" : error.message, { tenant: pending.tenant, code: error.code, cause: reply.error.cause });
        }
        pending.reject(error);
      }
      // "skipped" with settled false cannot happen: only a settled (cancelled) call is skipped.
    }
    if (worker.detached && worker.inflight.size === 0) void this.#retire(worker);
  };

  #onCrash = (worker: StoreWorker, message: string): void => {
    this.#o.log?.error("store worker crashed; its tenants move to a new worker", { error: message });
    this.#detach(worker, null);
    for (const [id, pending] of worker.inflight) {
      if (pending.settled) continue;
      pending.settled = true;
      worker.inflight.delete(id);
      pending.reject(new AppError("unavailable", "The storage worker failed; retry the request.", { details: { retryAfterSeconds: 1 } }));
    }
    void this.#retire(worker);
  };

  /** Answers a call now (deadline or abort); if it had not started, it never will. */
  #cancel(id: number, error: AppError): void {
    for (const worker of [...this.#active, ...this.#detached]) {
      const pending = worker.inflight.get(id);
      if (!pending || pending.settled) continue;
      if (pending.request.kind === "call") Atomics.compareExchange(worker.slots, pending.request.slot, slotState.pending, slotState.cancelled);
      pending.settled = true;
      pending.reject(error);
      return;
    }
  }

  /**
   * The stall monitor: a worker that has been running one tenant's calls for stallMs while other tenants' calls
   * wait gives those tenants to a fresh worker. Not only one long call: a tenant's concurrent calls run back to
   * back (4 searches of 35 ms kept another tenant's point read waiting 140 ms on one worker, bench/RESULTS.md,
   * noisy neighbour row c with one worker), so the time counts from when that tenant started holding the worker.
   */
  #watch(stallMs: number): void {
    let now: number | undefined;
    for (let w = 0; w < this.#active.length; w++) {
      const worker = this.#active[w]!;
      // Most ticks find nothing in flight: no clock read, no allocation.
      if (worker.inflight.size < 2) {
        worker.holder = null;
        continue;
      }
      let running: Pending | undefined;
      for (const pending of worker.inflight.values()) {
        if (pending.request.kind === "call" && Atomics.load(worker.slots, pending.request.slot) === slotState.running) {
          running = pending;
          break;
        }
      }
      if (!running) {
        worker.holder = null;
        continue;
      }
      let othersWaiting = false;
      for (const pending of worker.inflight.values()) {
        if (!pending.settled && pending.tenant !== running.tenant) {
          othersWaiting = true;
          break;
        }
      }
      now ??= performance.now();
      running.runningSince ??= now;
      if (worker.holder?.tenant !== running.tenant) worker.holder = { tenant: running.tenant, since: running.runningSince };
      const held = now - worker.holder.since;
      if (othersWaiting && held >= stallMs && this.#detached.size < Math.max(2, this.#active.length * 2)) {
        this.#o.log?.warn("store worker stalled by one tenant; moving its other tenants", { tenant: running.tenant, running_ms: Math.round(held), moved: worker.tenants.size - 1 });
        this.#detach(worker, running.tenant);
        w--;
      }
    }
  }

  /**
   * Takes a worker out of the pool: a fresh worker replaces it, every tenant but `keep` is re-homed, and their
   * calls still waiting there (never started: their slots are still pending) are re-sent to the new home.
   */
  #detach(worker: StoreWorker, keep: string | null): void {
    if (worker.detached) return;
    worker.detached = true;
    const index = this.#active.indexOf(worker);
    if (index >= 0) this.#active.splice(index, 1);
    this.#detached.add(worker);
    if (!this.#closed) {
      this.#active.push(this.#spare ?? this.#spawn());
      this.#spare = this.#spawn();
    }
    for (const tenant of [...worker.tenants]) {
      if (tenant === keep) continue;
      worker.tenants.delete(tenant);
      this.#homes.delete(tenant);
      // The stale connection is closed once the worker is free again; until then it is idle.
      worker.post({ kind: "admin", id: 0, tenant, op: "close", args: [] });
      const target = this.#leastLoaded();
      this.#place(tenant, target);
    }
    for (const [id, pending] of worker.inflight) {
      if (pending.tenant === keep || pending.settled || pending.request.kind !== "call") continue;
      if (Atomics.compareExchange(worker.slots, pending.request.slot, slotState.pending, slotState.cancelled) !== slotState.pending) continue;
      // Cancelled there before it ran: run it at the new home under the same id (a later cancel finds it
      // there); the old worker's "skipped" reply finds nothing. Its old slot is freed by nobody: the worker
      // is retired with its slots.
      worker.inflight.delete(id);
      const home = this.#homes.get(pending.tenant)!.worker;
      this.#send(home, pending.tenant, { ...pending.request }).then(pending.resolve, pending.reject);
    }
  }

  /** Closes a detached worker once idle: its remaining tenants re-home on their next call. */
  async #retire(worker: StoreWorker): Promise<void> {
    if (worker.retiring) return;
    worker.retiring = true;
    for (const tenant of worker.tenants) if (this.#homes.get(tenant)?.worker === worker) this.#homes.delete(tenant);
    worker.tenants.clear();
    await this.#shutdown(worker);
    this.#detached.delete(worker);
  }

  async #shutdown(worker: StoreWorker): Promise<void> {
    const done = new Promise<void>((resolve) => {
      const id = this.#nextId++;
      worker.inflight.set(id, { tenant: "", request: { kind: "admin", id, tenant: "", op: "touch", args: [] }, resolve: () => resolve(), reject: () => resolve(), settled: false });
      worker.post({ kind: "shutdown", id });
    });
    // A worker wedged in a statement cannot close its files: give up on it after a while.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)))]);
    clearTimeout(timer);
    worker.terminate();
  }

  #spawn(): StoreWorker {
    // A forced collection costs ~1-2 ms on a worker: one every 8 closed files made a cold open ~2.0-2.5 ms of
    // executor CPU, one every 32 (max_open_tenants 256, 2 workers) ~1.3-1.5 ms (bench/RESULTS.md, cold tenants).
    // Closed files not yet collected hold 3 descriptors each: across the workers at most 3 × maxOpen, which the
    // server's descriptor budget allows for (openFileCap: 6 per open file).
    const gcEvery = Math.max(4, Math.floor(this.#o.maxOpen / Math.max(8, this.#o.workers)));
    return new StoreWorker({ dataDir: this.#o.dataDir, sqlite: this.#o.sqlite, gcEvery }, this.#onReply, this.#onCrash, this.#o.workers === 0);
  }
}
