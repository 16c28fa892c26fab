/**
 * TenantFiles: the open tenant files of ONE thread (a store worker, or the CLI's own thread). Opens lazily
 * (migrating older files), shares concurrent opens, keeps at most `maxOpen` files open (LRU) and really
 * releases descriptors: libSQL frees them only at GC, so evictions are followed by a forced collection,
 * which on a worker thread collects that worker's small heap only, off every request path.
 */
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import type Database from "libsql";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { AppError } from "../../errors.ts";
import { tenantDbPath } from "../../tenancy/tenant-id.ts";
import { fsyncPath } from "../fsync.ts";
import { applyMigrations, nativeTarget, pendingMigrations } from "../migrate.ts";
import { tenantMigrations } from "../migrations.gen.ts";
import { isPlaintextDatabase, openTenantFile, type SqliteOptions } from "../open.ts";
import { drizzleOnLibsql } from "../tenant/drizzle.ts";
import * as tenantSchema from "../tenant/schema.ts";

/**
 * One open tenant file: the native connection (statements prepared once, cached in `statements`) and drizzle
 * on top of it. Both are synchronous, so a read-check-write inside one transaction is atomic in this process.
 */
export type TenantDatabase = {
  id: string;
  native: Database.Database;
  db: BetterSQLite3Database<typeof tenantSchema>;
  /** Prepared statements of this connection, by name: built on first use, reused for every request. */
  statements: Map<string, unknown>;
};

type Entry = { id: string; ready: Promise<TenantDatabase>; value?: TenantDatabase; leases: number; closed: boolean };

export type TenantFilesOptions = {
  dataDir: string;
  maxOpen: number;
  sqlite: SqliteOptions;
  /** The tenant's data key when its database is encrypted, else null. */
  keyFor?: (id: string) => Promise<string | null>;
  /** Closed files after which the next open first collects their descriptors (default: an eighth of maxOpen, at least 8). */
  gcEvery?: number;
};

/** How long after an eviction a timer collects the closed files' descriptors (see #collect). */
const collectAfterMs = 1000;

export class TenantFiles {
  readonly #options: TenantFilesOptions;
  /** Insertion order is recency order: a hit is deleted and re-inserted. */
  readonly #open = new Map<string, Entry>();
  #evictedSinceGc = 0;
  #gcTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: TenantFilesOptions) {
    this.#options = options;
  }

  /** Number of tenant databases currently open. */
  get openCount(): number {
    return this.#open.size;
  }

  isOpen(id: string): boolean {
    return this.#open.has(id);
  }

  pathOf(id: string): string {
    return tenantDbPath(this.#options.dataDir, id);
  }

  exists(id: string): boolean {
    return existsSync(this.pathOf(id));
  }

  /** Runs `fn` with the tenant's database; the database stays open (not evicted) while it runs. */
  async use<T>(id: string, fn: (tenant: TenantDatabase) => Promise<T>): Promise<T> {
    const entry = this.#acquire(id);
    try {
      return await fn(await entry.ready);
    } finally {
      entry.leases--;
      this.#evict();
    }
  }

  /**
   * Creates a new tenant database file with every migration applied, atomically: it is built under a
   * temporary name and renamed into place, so a failure (disk full) leaves nothing that blocks a retry.
   */
  async create(id: string, encryptionKey: string | null = null): Promise<void> {
    const path = this.pathOf(id);
    if (existsSync(path)) throw new AppError("already_exists", `database file for tenant ${id} already exists`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const temp = `${path}.creating`;
    const removeTemp = () => ["", "-wal", "-shm", "-journal"].forEach((suffix) => rmSync(temp + suffix, { force: true }));
    removeTemp();
    try {
      // A rollback journal, not WAL, under the temporary name (see openTenantFile): the file is complete on its own.
      const native = openTenantFile(temp, this.#options.sqlite, encryptionKey, "delete");
      try {
        await applyMigrations(nativeTarget(native), tenantMigrations);
      } finally {
        native.close();
      }
      fsyncPath(temp);
      renameSync(temp, path);
      fsyncPath(dirname(path));
    } finally {
      removeTemp();
    }
  }

  /** Closes the tenant's database if open and deletes its files. */
  async remove(id: string): Promise<void> {
    const path = this.pathOf(id);
    await this.close(id);
    for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
  }

  /** Migrations a tenant file lacks (without applying them). */
  async pending(id: string): Promise<string[]> {
    if (this.#open.has(id)) return [];
    const path = this.pathOf(id);
    const native = openTenantFile(path, this.#options.sqlite, await this.#keyOf(id, path));
    try {
      return (await pendingMigrations(nativeTarget(native), tenantMigrations)).map((m) => m.tag);
    } finally {
      native.close();
    }
  }

  /** Closes one tenant's database (e.g. before removal or restore). */
  async close(id: string): Promise<void> {
    const entry = this.#open.get(id);
    if (!entry) return;
    this.#open.delete(id);
    await this.#closeEntry(entry);
    this.#evictedSinceGc++;
    this.#collect();
  }

  /**
   * Closes every open database after a checkpoint that empties its -wal into the main file (a graceful stop
   * leaves every .db complete on its own: a copy of it alone has all the data).
   */
  async closeAll(): Promise<void> {
    const entries = [...this.#open.values()];
    this.#open.clear();
    for (const entry of entries) {
      try {
        entry.value?.native.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch {
        // a busy or damaged file is closed all the same; its -wal is replayed on the next open
      }
    }
    await Promise.all(entries.map((entry) => this.#closeEntry(entry)));
    // Now, not on a timer: a retiring worker is terminated right after this, and a terminated thread never
    // finalizes its handles, so their descriptors would leak for the life of the process.
    await this.#collectNow();
  }

  #acquire(id: string): Entry {
    let entry = this.#open.get(id);
    if (entry) {
      this.#open.delete(id);
      this.#open.set(id, entry);
    } else {
      // The path (validated, confined to the data dir) is only needed to open: not on every hit.
      const created: Entry = { id, leases: 0, closed: false, ready: this.#openFile(id, this.pathOf(id)) };
      created.ready.then(
        (value) => (created.value = value),
        // A failed open must not stay cached.
        () => this.#open.get(id) === created && this.#open.delete(id),
      );
      entry = created;
      this.#open.set(id, entry);
    }
    entry.leases++;
    this.#evict();
    return entry;
  }

  /** The key to open a file with: the tenant's data key, unless the file is (still) plain SQLite. */
  async #keyOf(id: string, path: string): Promise<string | null> {
    const key = (await this.#options.keyFor?.(id)) ?? null;
    // An interrupted `tenant encrypt` can leave the key stored and the file not yet replaced.
    return key && !isPlaintextDatabase(path) ? key : null;
  }

  async #openFile(id: string, path: string): Promise<TenantDatabase> {
    // Never let the driver create a file for a tenant that does not have one.
    if (!existsSync(path)) throw new AppError("not_found", `tenant ${id} has no database`);
    if (this.#gcDebt) await this.#collectNow();
    const native = openTenantFile(path, this.#options.sqlite, await this.#keyOf(id, path));
    try {
      await applyMigrations(nativeTarget(native), tenantMigrations);
    } catch (error) {
      native.close();
      throw error;
    }
    return { id, native, db: drizzleOnLibsql(native, tenantSchema), statements: new Map() };
  }

  #evict(): void {
    if (this.#open.size <= this.#options.maxOpen) return;
    for (const entry of this.#open.values()) {
      if (this.#open.size <= this.#options.maxOpen) break;
      if (entry.leases > 0) continue;
      this.#open.delete(entry.id);
      void this.#closeEntry(entry);
      this.#evictedSinceGc++;
    }
    this.#collect();
  }

  async #closeEntry(entry: Entry): Promise<void> {
    if (entry.closed) return;
    entry.closed = true;
    // Close synchronously when open, so a collection that follows can free the descriptors.
    if (entry.value) return closeTenant(entry.value);
    try {
      closeTenant(await entry.ready);
    } catch {
      // a database that failed to open has nothing to close
    }
  }

  /**
   * libSQL releases a closed database's descriptors only when its statements' handles are finalized, which
   * happens after a forced collection AND a later event-loop turn (measured with libsql 0.5 on Bun 1.4). So: the
   * next open waits for a collection once `gcEvery` closed files pile up, which keeps descriptors bounded under
   * bursts, and a timer collects what a burst left behind a second after an eviction. The timer was 20 ms: under
   * a stream of cold tenants it ran two full collections every 20 ms on every worker, 3 of the ~5 ms of CPU a
   * first touch cost (bench/RESULTS.md, cold tenants).
   */
  #collect(): void {
    if (this.#evictedSinceGc === 0 || this.#gcTimer) return;
    this.#gcTimer = setTimeout(() => void this.#collectNow(), collectAfterMs);
  }

  get #gcDebt(): boolean {
    return this.#evictedSinceGc >= (this.#options.gcEvery ?? Math.max(8, this.#options.maxOpen >> 3));
  }

  async #collectNow(): Promise<void> {
    clearTimeout(this.#gcTimer);
    this.#gcTimer = undefined;
    this.#evictedSinceGc = 0;
    Bun.gc(true);
    await new Promise((resolve) => setImmediate(resolve));
    Bun.gc(true);
  }
}

function closeTenant(tenant: TenantDatabase): void {
  tenant.statements.clear();
  tenant.native.close();
}
