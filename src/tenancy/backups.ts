/**
 * Online, consistent backups: each database is copied with VACUUM INTO to a temporary name, checked with
 * PRAGMA integrity_check, fsynced and atomically renamed; a manifest records versions and SHA-256 checksums.
 * Encrypted tenants stay encrypted (the copy is written with the same key). Restore checks a backup and
 * replaces one tenant (or everything) without touching the others.
 */
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { AuditLog } from "../audit/audit-log.ts";
import { AppError, invalidInput } from "../errors.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { tenants } from "../store/control/schema.ts";
import { controlMigrations, tenantMigrations } from "../store/migrations.gen.ts";
import Database from "libsql";
import { isPlaintextDatabase, type SqliteOptions } from "../store/open.ts";
import { version } from "../version.ts";
import type { KeyVault } from "./key-vault.ts";
import type { TenantRegistry } from "./registry.ts";
import { assertTenantId } from "./tenant-id.ts";

export type BackupFile = { path: string; bytes: number; sha256: string; tenant: string | null; encrypted: boolean };
export type BackupManifest = {
  format: "mcp-mt-backup/1";
  created_at: string;
  mcp_mt_version: string;
  schema: { control: string; tenant: string };
  files: BackupFile[];
};

export type BackupOptions = { out: string; tenant?: string; all?: boolean };

type Deps = {
  control: ControlDatabase;
  registry: TenantRegistry;
  dataDir: string;
  sqlite: SqliteOptions;
  audit: AuditLog;
  actor: string;
  vault: KeyVault | null;
  keyFor(id: string): Promise<string | null>;
};

const sha256 = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");

function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class BackupService {
  readonly #d: Deps;

  constructor(deps: Deps) {
    this.#d = deps;
  }

  /** Writes a new backup directory under `out`; returns its path and manifest. */
  async backup(options: BackupOptions): Promise<{ dir: string; manifest: BackupManifest }> {
    const stamp = new Date().toISOString().replace(/[-:.]/g, "");
    const dir = resolve(options.out, `mcp-mt-backup-${stamp}${options.tenant ? `-${options.tenant}` : ""}`);
    if (existsSync(dir)) throw new AppError("already_exists", `${dir} already exists`);
    const work = `${dir}.partial`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(join(work, "tenants"), { recursive: true, mode: 0o700 });
    const files: BackupFile[] = [];
    try {
      // The control plane always: keys, plans and wrapped data keys belong with any tenant file.
      const controlCopy = join(work, "control.db");
      await this.#d.control.client.execute({ sql: "VACUUM INTO ?", args: [`${controlCopy}.tmp`] });
      files.push(this.#seal(controlCopy, null, null, false));
      const ids = options.tenant ? [assertTenantId(options.tenant)] : (await this.#d.control.db.select({ id: tenants.id }).from(tenants).orderBy(tenants.id)).map((r) => r.id);
      for (const id of ids) {
        if (!this.#d.registry.exists(id)) throw new AppError("not_found", `tenant ${id} has no database to back up`);
        const copy = join(work, "tenants", `${id}.db`);
        // VACUUM INTO on the tenant's own (possibly encrypted) connection: a consistent snapshot, same key.
        await this.#d.registry.backupTo(id, `${copy}.tmp`);
        const key = await this.#d.keyFor(id);
        files.push(this.#seal(copy, id, key && !isPlaintextDatabase(`${copy}.tmp`) ? key : null, Boolean(key)));
      }
      const manifest: BackupManifest = {
        format: "mcp-mt-backup/1",
        created_at: new Date().toISOString(),
        mcp_mt_version: version,
        schema: { control: controlMigrations.at(-1)!.tag, tenant: tenantMigrations.at(-1)!.tag },
        files,
      };
      writeFileSync(join(work, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
      fsyncPath(join(work, "manifest.json"));
      renameSync(work, dir);
      await this.#d.audit.append({ actor: this.#d.actor, tenantId: options.tenant ?? null, action: "backup.created", target: dir, details: { files: files.length } });
      return { dir, manifest };
    } catch (error) {
      rmSync(work, { recursive: true, force: true });
      throw error;
    }
  }

  /** Integrity-checks `<path>.tmp`, fsyncs it and renames it to `path`. */
  #seal(path: string, tenant: string | null, key: string | null, encrypted: boolean): BackupFile {
    const temp = `${path}.tmp`;
    checkIntegrity(temp, this.#d.sqlite, key);
    fsyncPath(temp);
    renameSync(temp, path);
    return { path: tenant ? `tenants/${basename(path)}` : basename(path), bytes: statSync(path).size, sha256: sha256(path), tenant, encrypted };
  }

  /** Checks a backup directory: manifest, checksums and (where the key is at hand) integrity of every file. */
  async verify(dir: string, only?: (file: BackupFile) => boolean): Promise<{ ok: boolean; files: { path: string; ok: boolean; problem?: string }[]; manifest: BackupManifest }> {
    const manifest = readManifest(dir);
    const files = [];
    for (const file of manifest.files.filter(only ?? (() => true))) {
      const path = join(dir, file.path);
      if (!existsSync(path)) {
        files.push({ path: file.path, ok: false, problem: "missing" });
        continue;
      }
      if (sha256(path) !== file.sha256) {
        files.push({ path: file.path, ok: false, problem: "checksum mismatch" });
        continue;
      }
      try {
        checkIntegrity(path, this.#d.sqlite, file.tenant && file.encrypted ? await this.#backupKey(dir, file.tenant) : null);
        files.push({ path: file.path, ok: true });
      } catch (error) {
        files.push({ path: file.path, ok: false, problem: error instanceof Error ? error.message : String(error) });
      }
    }
    return { ok: files.every((f) => f.ok), files, manifest };
  }

  /** The data key of an encrypted tenant in a backup: from the backup's own control plane copy. */
  async #backupKey(dir: string, tenant: string): Promise<string | null> {
    const { createClient } = await import("@libsql/client");
    const client = createClient({ url: `file:${join(dir, "control.db")}`, concurrency: 1 });
    try {
      const row = (await client.execute({ sql: "SELECT wrapped_key FROM tenants WHERE id = ?", args: [tenant] })).rows[0];
      const wrapped = row?.wrapped_key as string | null | undefined;
      if (!wrapped) return null;
      if (!this.#d.vault) throw new AppError("config_invalid", `tenant ${tenant} is encrypted in this backup: configure the master key to verify it`);
      return this.#d.vault.unwrap(wrapped, tenant);
    } finally {
      client.close();
    }
  }

  /**
   * Restores from a verified backup. One tenant: its file (and its control-plane row, keys included)
   * replace the current ones; other tenants are untouched. No tenant: the whole control plane and every file.
   * The caller makes sure no other process has the files open (the running server does this itself).
   */
  async restore(dir: string, tenant?: string): Promise<{ restored: string[] }> {
    // One tenant needs only its own file and the control plane to be sound; everything needs everything.
    const checked = await this.verify(dir, tenant === undefined ? undefined : (f) => f.tenant === null || f.tenant === tenant);
    if (!checked.ok) throw new AppError("invalid_input", `backup ${dir} does not verify: ${checked.files.filter((f) => !f.ok).map((f) => `${f.path}: ${f.problem}`).join("; ")}`);
    const tenantFiles = checked.manifest.files.filter((f) => f.tenant !== null);
    if (tenant !== undefined) {
      assertTenantId(tenant);
      const file = tenantFiles.find((f) => f.tenant === tenant);
      if (!file) throw invalidInput(`backup ${dir} has no tenant ${tenant}`);
      await this.#copyTenantRows(dir, tenant);
      await this.#replaceTenantFile(join(dir, file.path), tenant);
      await this.#d.audit.append({ actor: this.#d.actor, tenantId: tenant, action: "backup.restored", target: dir, details: { scope: "tenant" } });
      return { restored: [tenant] };
    }
    for (const file of tenantFiles) await this.#replaceTenantFile(join(dir, file.path), file.tenant!);
    // Replace the control plane rows (tenants, keys, usage) from the backup copy, in one transaction.
    await this.#fromBackupControl(dir, [
      "DELETE FROM api_keys",
      "DELETE FROM tenants",
      "DELETE FROM usage",
      "INSERT INTO tenants SELECT * FROM backup.tenants",
      "INSERT INTO api_keys SELECT * FROM backup.api_keys",
      "INSERT INTO usage SELECT * FROM backup.usage",
    ]);
    await this.#d.audit.append({ actor: this.#d.actor, action: "backup.restored", target: dir, details: { scope: "all", tenants: tenantFiles.length } });
    return { restored: tenantFiles.map((f) => f.tenant!) };
  }

  #copyTenantRows(dir: string, tenant: string): Promise<void> {
    return this.#fromBackupControl(dir, [
      { sql: "DELETE FROM api_keys WHERE tenant_id = ?", args: [tenant] },
      { sql: "DELETE FROM tenants WHERE id = ?", args: [tenant] },
      { sql: "INSERT INTO tenants SELECT * FROM backup.tenants WHERE id = ?", args: [tenant] },
      { sql: "INSERT INTO api_keys SELECT * FROM backup.api_keys WHERE tenant_id = ?", args: [tenant] },
    ]);
  }

  /** Runs statements in one transaction with the backup's control plane attached as `backup`. */
  async #fromBackupControl(dir: string, statements: (string | { sql: string; args: string[] })[]): Promise<void> {
    const { client } = this.#d.control;
    await client.execute({ sql: "ATTACH DATABASE ? AS backup", args: [join(dir, "control.db")] });
    try {
      await client.batch(statements, "write");
    } finally {
      await client.execute("DETACH DATABASE backup");
    }
  }

  async #replaceTenantFile(source: string, tenant: string): Promise<void> {
    await this.#d.registry.close(tenant);
    const target = this.#d.registry.pathOf(tenant);
    mkdirSync(join(this.#d.dataDir, "tenants"), { recursive: true, mode: 0o700 });
    const temp = `${target}.restoring`;
    copyFileSync(source, temp);
    fsyncPath(temp);
    for (const suffix of ["-wal", "-shm"]) rmSync(target + suffix, { force: true });
    renameSync(temp, target);
  }

  /** Keeps the newest `keep` backup directories under `out` (scheduled backups). */
  prune(out: string, keep: number): string[] {
    if (!existsSync(out)) return [];
    const all = readdirSync(out)
      .filter((name) => name.startsWith("mcp-mt-backup-") && !name.endsWith(".partial") && existsSync(join(out, name, "manifest.json")))
      .sort();
    const removed = all.slice(0, Math.max(0, all.length - keep));
    for (const name of removed) rmSync(join(out, name), { recursive: true, force: true });
    return removed;
  }
}

function readManifest(dir: string): BackupManifest {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  } catch {
    throw invalidInput(`${dir} is not an mcp-mt backup (no readable manifest.json)`);
  }
  if (manifest.format !== "mcp-mt-backup/1") throw invalidInput(`${dir}: unknown backup format ${JSON.stringify(manifest.format)}`);
  return manifest;
}

/** Opens a database file as it is (no pragmas changed) and runs PRAGMA integrity_check; throws unless it says ok. */
function checkIntegrity(path: string, sqlite: SqliteOptions, key: string | null): void {
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true, timeout: sqlite.busyTimeoutMs, ...(key ? { encryptionKey: key } : {}) } as Database.Options);
  } catch (error) {
    throw new AppError("internal", `${basename(path)} cannot be opened: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    const row = db.prepare("PRAGMA integrity_check").raw().get() as unknown[] | undefined;
    const result = row?.[0];
    if (result !== "ok") throw new AppError("internal", `integrity check of ${basename(path)} failed: ${String(result)}`);
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError("internal", `${basename(path)} is not a readable database${key ? " with its key" : ""}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    db.close();
  }
}
