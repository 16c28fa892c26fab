/**
 * The tenant-store boundary: asynchronous and message-shaped, so that a tenant's database work can run on a
 * worker thread (libSQL), on a PostgreSQL pool, or inline, behind the same interface. Tools only ever see a
 * `TenantStore` bound to the caller's own tenant; operators' services see `TenantStorage`.
 */
import type { DamagedTenants } from "../tenancy/damaged-tenants.ts";
import type { Document, DocumentSummary, SearchHit, StorageQuota, StorageUse } from "./tenant/documents.ts";

export type { Document, DocumentSummary, SearchHit, StorageQuota, StorageUse };

export type DocumentPage = { documents: DocumentSummary[]; next_cursor: string | null };
export type ListOptions = { limit: number; cursor?: string; tag?: string };
export type DocumentInput = { title: string; content: string; tags: string[] };
export type DocumentPatch = { title?: string; content?: string; tags?: string[]; expectedVersion?: number };

/** One tenant's documents. Every method may fail with an AppError (invalid input, not found, quota, timeout, unavailable). */
export interface TenantStore {
  storage(): Promise<StorageUse>;
  create(input: DocumentInput): Promise<Document>;
  get(id: string): Promise<Document | null>;
  list(options: ListOptions): Promise<DocumentPage>;
  search(query: string, limit: number): Promise<SearchHit[]>;
  update(id: string, patch: DocumentPatch): Promise<Document>;
  delete(id: string): Promise<boolean>;
}

/** The document operations as messages: the name and the argument list of each TenantStore method. */
export type StoreCalls = {
  [K in keyof TenantStore]: { op: K; args: Parameters<TenantStore[K]> };
}[keyof TenantStore];
export type StoreOp = StoreCalls["op"];

/** A TenantStore whose every method is one message to `call`: how each backend turns its messages into a store. */
export function storeOverMessages(call: <T>(message: StoreCalls) => Promise<T>): TenantStore {
  return {
    storage: () => call({ op: "storage", args: [] }),
    create: (input) => call({ op: "create", args: [input] }),
    get: (docId) => call({ op: "get", args: [docId] }),
    list: (options) => call({ op: "list", args: [options] }),
    search: (query, limit) => call({ op: "search", args: [query, limit] }),
    update: (docId, patch) => call({ op: "update", args: [docId, patch] }),
    delete: (docId) => call({ op: "delete", args: [docId] }),
  };
}

/** Read-only operations: safe to run again after a worker was replaced (they change nothing). */
export const readOnlyOps: ReadonlySet<StoreOp> = new Set(["storage", "get", "list", "search"]);

/** What one request's store is bound to: its storage quota, its deadline and its cancellation. */
export type StoreBinding = {
  quota: StorageQuota;
  /** Aborted at the request's deadline or when the client goes away: pending work is dropped, not run. */
  signal?: AbortSignal;
};

/**
 * A storage backend seen from the services: provisioning, lifecycle and a store per request. Implemented by
 * the libSQL worker pool (a file per tenant); a PostgreSQL backend implements the same.
 */
export interface TenantStorage {
  /** Whether the tenant has storage (its file, schema or database exists). */
  exists(id: string): Promise<boolean>;
  /** Where the tenant lives, for operators (a file path, or a schema/database name). */
  pathOf(id: string): string;
  /** Creates the tenant's storage with every migration applied; atomic: nothing is left behind on failure. */
  create(id: string, encryptionKey?: string | null): Promise<void>;
  /** Closes and deletes the tenant's storage. */
  remove(id: string): Promise<void>;
  /** The tenant's store, bound to one request. */
  store(id: string, binding: StoreBinding): TenantStore;
  /** Opens the tenant (applying pending migrations) without doing anything else. */
  touch(id: string): Promise<void>;
  /** Migrations the tenant's storage lacks, without applying them. */
  pending(id: string): Promise<string[]>;
  /** A consistent copy of the tenant's data at `path` (same encryption key). */
  backupTo(id: string, path: string): Promise<void>;
  /** Releases the tenant's connection (e.g. before its file is replaced). */
  close(id: string): Promise<void>;
  /** Flushes and closes everything (graceful stop). */
  closeAll(): Promise<void>;
  /** Number of tenants currently open. */
  readonly openCount: number;
  isOpen(id: string): boolean;
}

/**
 * What the services use of a backend beyond TenantStorage: the damaged-tenant tracker, integrity checks,
 * figures for /metrics and the CPU observer. The libSQL registry and the PostgreSQL storage both provide it.
 */
export type TenantBackend = TenantStorage & {
  readonly damaged: DamagedTenants;
  check(id: string): Promise<string[]>;
  figures(): { workers: number; detached: number; open: number; inflight: number };
  observeBusy(observer: (tenant: string, ms: number) => void): void;
};
