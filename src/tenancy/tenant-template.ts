/**
 * Fast creation of many plaintext tenant files for bulk provisioning: one file is created and migrated
 * once, then copied (temp name + rename) for each tenant, and the file system is flushed once per batch.
 * Creating each file from scratch costs ~30-70 ms, mostly fsyncs of the journal-mode switch and the
 * checkpoint at close (measured, bench/RESULTS.md); a copy costs well under a millisecond.
 */
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { applyMigrations, nativeTarget } from "../store/migrate.ts";
import { tenantMigrations } from "../store/migrations.gen.ts";
import { openTenantFile, type SqliteOptions } from "../store/open.ts";

export class TenantFileTemplate {
  readonly #path: string;
  readonly #copies: string[] = [];

  private constructor(path: string) {
    this.#path = path;
  }

  /** Builds the template in `tenantsDir` (same file system: renames are atomic). Its name is no tenant id. */
  static async create(tenantsDir: string, sqlite: SqliteOptions): Promise<TenantFileTemplate> {
    mkdirSync(tenantsDir, { recursive: true, mode: 0o700 });
    const path = join(tenantsDir, `.template-${process.pid}.db`);
    for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
    const template = new TenantFileTemplate(path);
    try {
      const db = openTenantFile(path, { ...sqlite, synchronous: "OFF" });
      try {
        await applyMigrations(nativeTarget(db), tenantMigrations);
        // Everything into the main file: libSQL's close does not checkpoint, and the copies take only that file.
        db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      } finally {
        db.close();
      }
    } catch (error) {
      // A full disk must leave no half-built template behind.
      template.dispose();
      throw error;
    }
    return template;
  }

  /** Copies the template to `target` (which must not exist yet) under a temporary name, then renames it. */
  copyTo(target: string): void {
    const temp = `${target}.creating`;
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    try {
      copyFileSync(this.#path, temp);
      renameSync(temp, target);
    } catch (error) {
      // A partial copy (disk full) is never left where a retry would trip over it.
      rmSync(temp, { force: true });
      throw error;
    }
    this.#copies.push(target);
  }

  /** Makes every copy so far durable: one syncfs(2) where available, else an fsync per file. */
  flush(): void {
    const copies = this.#copies.splice(0);
    if (copies.length === 0) return;
    const dir = dirname(copies[0]!);
    if (syncFileSystem(dir)) return;
    for (const path of [...copies, dir]) {
      const fd = openSync(path, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }

  dispose(): void {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(this.#path + suffix, { force: true });
  }
}

let syncfs: ((fd: number) => number) | null | undefined;

/** syncfs(2) on the file system holding `dir` (Linux); false where it is unavailable or failed. */
function syncFileSystem(dir: string): boolean {
  if (syncfs === undefined) {
    syncfs = null;
    if (process.platform === "linux") {
      try {
        const lib = dlopen("libc.so.6", { syncfs: { args: [FFIType.i32], returns: FFIType.i32 } });
        syncfs = (fd) => lib.symbols.syncfs(fd);
      } catch {
        syncfs = null;
      }
    }
  }
  if (!syncfs) return false;
  const fd = openSync(dir, "r");
  try {
    return syncfs(fd) === 0;
  } finally {
    closeSync(fd);
  }
}
