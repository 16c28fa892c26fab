/**
 * Online, consistent backups: each database is copied with VACUUM INTO to a temporary name, checked with
 * PRAGMA integrity_check, fsynced and atomically renamed; a manifest records versions and SHA-256 checksums.
 * Encrypted tenants stay encrypted (the copy is written with the same key). Restore checks a backup and
 * replaces one tenant (or everything) without touching the others.
 */
import { eq } from "drizzle-orm";
import Database from "libsql";
import { fsyncPath } from "../store/fsync.ts";
import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { Acting } from "../audit/actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { pepperFileIn, pepperFingerprint, pepperMismatch, shortFingerprint, type Pepper } from "../auth/pepper.ts";
import { AppError, invalidInput } from "../errors.ts";
import type { ControlDatabase, LibsqlControl } from "../store/control/db.ts";
import { tenants } from "../store/control/schema.ts";
import { controlMigrations, tenantMigrations } from "../store/migrations.gen.ts";
import { isPlaintextDatabase, type SqliteOptions } from "../store/open.ts";
import { version } from "../version.ts";
import { backupSetting, checkIntegrity, pepperInBackup, readManifest, sha256, verifyBackup, type BackupCheck, type BackupFile, type BackupManifest } from "./backup-check.ts";
import type { KeyVault } from "./key-vault.ts";
import type { TenantRegistry } from "./registry.ts";
import { assertTenantId } from "./tenant-id.ts";

export type { BackupCheck, BackupFile, BackupManifest } from "./backup-check.ts";
export { readManifest, verifyBackup } from "./backup-check.ts";

export type BackupOptions = { out: string; tenant?: string; all?: boolean; includeSecrets?: boolean };

/** `adoptPepper`: a restore from the CLI may take over a backup's own pepper (see restore); the server may not. */
export type RestoreOptions = { adoptPepper?: boolean };


type Deps = {
  control: ControlDatabase;
  registry: TenantRegistry;
  dataDir: string;
  sqlite: SqliteOptions;
  audit: AuditLog;
  vault: KeyVault | null;
  keyFor(id: string): Promise<string | null>;
  pepper: Pepper;
};


export class BackupService {
  readonly #d: Deps;

  constructor(deps: Deps) {
    this.#d = deps;
  }

  /** Writes a new backup directory under `out`; returns its path and manifest. */
  async backup(options: BackupOptions, by: Acting): Promise<{ dir: string; manifest: BackupManifest }> {
    // The id becomes part of a path: validated before any path is built (and before anything is deleted).
    const only = options.tenant === undefined ? null : assertTenantId(options.tenant);
    this.#libsql();
    if (only !== null && (await this.#d.control.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, only))).length === 0) {
      throw new AppError("not_found", `tenant ${only} does not exist`);
    }
    const stamp = new Date().toISOString().replace(/[-:.]/g, "");
    const dir = resolve(options.out, `mcp-mt-backup-${stamp}${only ? `-${only}` : ""}`);
    if (existsSync(dir)) throw new AppError("already_exists", `${dir} already exists`);
    const work = `${dir}.partial`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(join(work, "tenants"), { recursive: true, mode: 0o700 });
    const files: BackupFile[] = [];
    try {
      // The control plane always: keys, plans and wrapped data keys belong with any tenant file. A one-tenant
      // backup keeps only that tenant's rows: it may be handed to that tenant, and holds nobody else's data.
      const controlCopy = join(work, "control.db");
      await this.#libsql().client.execute({ sql: "VACUUM INTO ?", args: [`${controlCopy}.tmp`] });
      if (only !== null) keepOnlyTenant(`${controlCopy}.tmp`, only);
      files.push(this.#seal(controlCopy, null, null, false));
      const ids = only !== null ? [only] : (await this.#d.control.db.select({ id: tenants.id }).from(tenants).orderBy(tenants.id)).map((r) => r.id);
      const damaged: { tenant: string; problem: string }[] = [];
      for (const id of ids) {
        if (!(await this.#d.registry.exists(id))) throw new AppError("not_found", `tenant ${id} has no database to back up`);
        const copy = join(work, "tenants", `${id}.db`);
        try {
          // VACUUM INTO on the tenant's own (possibly encrypted) connection: a consistent snapshot, same key.
          await this.#d.registry.backupTo(id, `${copy}.tmp`);
          const key = await this.#d.keyFor(id);
          files.push(this.#seal(copy, id, key && !isPlaintextDatabase(`${copy}.tmp`) ? key : null, Boolean(key)));
        } catch (error) {
          // One damaged tenant must not cost every other tenant its backup: it is named and left out.
          const problem = damageOf(error);
          if (only !== null || problem === null) throw error;
          rmSync(`${copy}.tmp`, { force: true });
          damaged.push({ tenant: id, problem });
        }
      }
      if (options.includeSecrets) {
        // Disaster recovery: without its pepper, no API key in this backup verifies on a new machine.
        mkdirSync(join(work, "secrets"), { recursive: true, mode: 0o700 });
        writeFileSync(join(work, pepperInBackup), `${this.#d.pepper.value}\n`, { mode: 0o600 });
        fsyncPath(join(work, pepperInBackup));
      }
      const manifest: BackupManifest = {
        format: "mcp-mt-backup/1",
        created_at: new Date().toISOString(),
        mcp_mt_version: version,
        schema: { control: controlMigrations.at(-1)!.tag, tenant: tenantMigrations.at(-1)!.tag },
        tenant: only,
        pepper_fingerprint: pepperFingerprint(this.#d.pepper.value),
        ...(options.includeSecrets ? { secrets: { pepper: pepperInBackup } } : {}),
        files,
        ...(damaged.length ? { damaged } : {}),
      };
      writeFileSync(join(work, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
      fsyncPath(join(work, "manifest.json"));
      renameSync(work, dir);
      await this.#d.audit.append({ actor: by.actor, tenantId: only, action: "backup.created", target: dir, details: { files: files.length, includes_secrets: Boolean(options.includeSecrets), ...(damaged.length ? { damaged: damaged.map((d) => d.tenant) } : {}) } });
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
  verify(dir: string, only?: (file: BackupFile) => boolean): Promise<BackupCheck> {
    return verifyBackup(dir, { sqlite: this.#d.sqlite, vault: this.#d.vault, only });
  }

  /**
   * Restores from a verified backup. One tenant: its file (and its control-plane rows, keys included)
   * replace the current ones; other tenants are untouched. No tenant: the whole control plane and every file
   * (a one-tenant backup restores its tenant only). The API keys in the backup must verify under this data
   * directory's pepper: a mismatch is refused, unless the backup carries its own pepper and may be adopted.
   * The caller makes sure no other process has the files open (the running server does this itself).
   */
  async restore(dir: string, tenant: string | undefined, options: RestoreOptions, by: Acting): Promise<{ restored: string[]; pepper_adopted: boolean }> {
    if (tenant !== undefined) assertTenantId(tenant);
    this.#libsql();
    const manifest = readManifest(dir);
    if (manifest.tenant && tenant !== undefined && tenant !== manifest.tenant) throw invalidInput(`backup ${dir} holds only tenant ${manifest.tenant}, not ${tenant}`);
    const scope = tenant ?? manifest.tenant ?? undefined;
    // One tenant needs only its own file and the control plane to be sound; everything needs everything.
    const checked = await this.verify(dir, scope === undefined ? undefined : (f) => f.tenant === null || f.tenant === scope);
    if (!checked.ok) throw new AppError("invalid_input", `backup ${dir} does not verify: ${checked.files.filter((f) => !f.ok).map((f) => `${f.path}: ${f.problem}`).join("; ")}`);
    const tenantFiles = manifest.files.filter((f) => f.tenant !== null);
    const file = scope === undefined ? undefined : tenantFiles.find((f) => f.tenant === scope);
    if (scope !== undefined && !file) throw invalidInput(`backup ${dir} has no tenant ${scope}`);
    const adopt = await this.#pepperFor(dir, manifest, scope, options);
    const fingerprint = adopt ? pepperFingerprint(adopt) : pepperFingerprint(this.#d.pepper.value);
    const setFingerprint = { sql: "INSERT INTO settings (name, value) VALUES ('pepper_fingerprint', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", args: [fingerprint] };
    if (scope !== undefined) {
      await this.#fromBackupControl(dir, [
        { sql: "DELETE FROM api_keys WHERE tenant_id = ?", args: [scope] },
        { sql: "DELETE FROM tenants WHERE id = ?", args: [scope] },
        { sql: "INSERT INTO tenants SELECT * FROM backup.tenants WHERE id = ?", args: [scope] },
        { sql: "INSERT INTO api_keys SELECT * FROM backup.api_keys WHERE tenant_id = ?", args: [scope] },
        setFingerprint,
      ]);
      await this.#replaceTenantFile(join(dir, file!.path), scope);
    } else {
      for (const f of tenantFiles) await this.#replaceTenantFile(join(dir, f.path), f.tenant!);
      // Replace the control plane rows (tenants, keys, usage) from the backup copy, in one transaction.
      await this.#fromBackupControl(dir, [
        "DELETE FROM api_keys",
        "DELETE FROM tenants",
        "DELETE FROM usage",
        "INSERT INTO tenants SELECT * FROM backup.tenants",
        "INSERT INTO api_keys SELECT * FROM backup.api_keys",
        "INSERT INTO usage SELECT * FROM backup.usage",
        setFingerprint,
      ]);
    }
    if (adopt) writePepperFile(pepperFileIn(this.#d.dataDir), adopt);
    const restored = scope !== undefined ? [scope] : tenantFiles.map((f) => f.tenant!);
    await this.#d.audit.append({ actor: by.actor, tenantId: scope ?? null, action: "backup.restored", target: dir, details: { scope: scope === undefined ? "all" : "tenant", tenants: restored.length, pepper_adopted: Boolean(adopt) } });
    return { restored, pepper_adopted: Boolean(adopt) };
  }

  /**
   * Null when the backup's keys verify under this directory's pepper (or the backup predates fingerprints);
   * the backup's own pepper when it carries one that this directory may take over; otherwise a refusal.
   */
  async #pepperFor(dir: string, manifest: BackupManifest, scope: string | undefined, options: RestoreOptions): Promise<string | null> {
    const pepper = this.#d.pepper;
    const current = pepperFingerprint(pepper.value);
    const wanted = manifest.pepper_fingerprint ?? (await backupSetting(dir, "pepper_fingerprint"));
    if (wanted === null || wanted === current) return null;
    const what = `the API keys in backup ${dir} were hashed with`;
    if (!manifest.secrets?.pepper) throw pepperMismatch(pepper, current, wanted, what, true);
    const carried = readFileSync(join(dir, manifest.secrets.pepper), "utf8").trim();
    const fix = `This backup carries its pepper (${join(dir, manifest.secrets.pepper)}, fingerprint ${shortFingerprint(wanted)}), but this data directory uses another (${pepper.where}, fingerprint ${shortFingerprint(current)}).`;
    if (!options.adoptPepper) throw new AppError("conflict", `${fix} A running server cannot change its pepper: stop it and run the restore again.`);
    if (pepper.source !== "data-dir") throw new AppError("config_invalid", `${fix} Set ${pepper.where} to that file's content and run the restore again.`);
    // One data directory has one pepper: other tenants' keys would stop verifying.
    const others = await this.#libsql().client.execute(scope === undefined ? "SELECT count(*) AS n FROM api_keys WHERE 0" : { sql: "SELECT count(*) AS n FROM api_keys WHERE tenant_id <> ?", args: [scope] });
    if (Number(others.rows[0]?.n ?? 0) > 0) throw new AppError("conflict", `${fix} Other tenants' keys here use the current pepper, so it cannot be replaced: restore the whole backup, or restore into a data directory of its own.`);
    return carried;
  }

  /** Backups are files of the libSQL installation; on PostgreSQL the database's own tools do that job. */
  #libsql(): LibsqlControl {
    const { control } = this.#d;
    if (control.dialect === "libsql") return control;
    throw new AppError(
      "invalid_input",
      "mcp-mt backup and restore copy libSQL files; with storage.url on PostgreSQL, back up the database with pg_dump (or your provider's snapshots), and copy one tenant to a file with `mcp-mt tenant export`",
    );
  }

  /** Runs statements in one transaction with the backup's control plane attached as `backup`. */
  async #fromBackupControl(dir: string, statements: (string | { sql: string; args: string[] })[]): Promise<void> {
    const { client } = this.#libsql();
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
    // A restored file is a new file: a tenant marked damaged is served again.
    this.#d.registry.damaged.clear(tenant);
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

/** The problem when `error` says a tenant's database is damaged (it cannot be read, or its copy fails the check); else null. */
function damageOf(error: unknown): string | null {
  if (error instanceof AppError && error.code === "storage_damaged") return String(error.cause ?? error.message);
  const message = error instanceof Error ? error.message : String(error);
  return /integrity|malformed|not a database|corrupt/i.test(message) ? message : null;
}

/** Deletes every other tenant's rows from a control-plane copy, then rebuilds it so no freed page keeps them. */
function keepOnlyTenant(path: string, tenant: string): void {
  const db = new Database(path, { fileMustExist: true } as Database.Options);
  try {
    db.exec("PRAGMA foreign_keys = OFF");
    db.prepare("DELETE FROM api_keys WHERE tenant_id <> ?").run(tenant);
    db.prepare("DELETE FROM tenants WHERE id <> ?").run(tenant);
    db.prepare("DELETE FROM usage WHERE tenant_id <> ?").run(tenant);
    db.prepare("DELETE FROM audit_log WHERE tenant_id IS NOT ?").run(tenant);
    db.exec("VACUUM");
  } finally {
    db.close();
  }
}

/** Replaces `<data>/pepper` atomically (mode 0600). */
function writePepperFile(path: string, pepper: string): void {
  const temp = `${path}.restoring`;
  writeFileSync(temp, `${pepper}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  fsyncPath(temp);
  renameSync(temp, path);
}
