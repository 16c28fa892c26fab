/** Reading and checking a backup directory: its manifest (paths confined to it), checksums and integrity. */
import Database from "libsql";
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { pepperFingerprint } from "../auth/pepper.ts";
import { AppError, invalidInput } from "../errors.ts";
import type { SqliteOptions } from "../store/open.ts";
import type { KeyVault } from "./key-vault.ts";
import { assertTenantId } from "./tenant-id.ts";

export type BackupFile = { path: string; bytes: number; sha256: string; tenant: string | null; encrypted: boolean };
export type BackupManifest = {
  format: "mcp-mt-backup/1";
  created_at: string;
  mcp_mt_version: string;
  schema: { control: string; tenant: string };
  /** A one-tenant backup holds only that tenant's file and control-plane rows; null: every tenant. */
  tenant?: string | null;
  /** Fingerprint of the pepper the API keys in this backup were hashed with (never the pepper itself). */
  pepper_fingerprint?: string;
  /** Present only for `backup --include-secrets`: where the pepper is in this backup. */
  secrets?: { pepper: string };
  files: BackupFile[];
  /** Tenants left out because their database is damaged (their control-plane rows are still in). */
  damaged?: { tenant: string; problem: string }[];
};

/** Where `backup --include-secrets` puts the pepper inside a backup. */
export const pepperInBackup = "secrets/pepper";

export const sha256 = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");

export type BackupCheck = { ok: boolean; files: { path: string; ok: boolean; problem?: string }[]; manifest: BackupManifest };

/**
 * Checks a backup directory: manifest, checksums and (where the key is at hand) integrity of every file, and
 * that a carried pepper is the one the manifest names. Reads only the backup: needs no data directory.
 */
export async function verifyBackup(dir: string, options: { sqlite: SqliteOptions; vault: KeyVault | null; only?: (file: BackupFile) => boolean }): Promise<BackupCheck> {
  const manifest = readManifest(dir);
  const files: BackupCheck["files"] = [];
  for (const file of manifest.files.filter(options.only ?? (() => true))) {
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
      checkIntegrity(path, options.sqlite, file.tenant && file.encrypted ? await backupKey(dir, file.tenant, options.vault) : null);
      files.push({ path: file.path, ok: true });
    } catch (error) {
      files.push({ path: file.path, ok: false, problem: error instanceof Error ? error.message : String(error) });
    }
  }
  if (manifest.secrets?.pepper) {
    const path = join(dir, manifest.secrets.pepper);
    const carried = existsSync(path) ? readFileSync(path, "utf8").trim() : null;
    const problem = carried === null ? "missing" : manifest.pepper_fingerprint && pepperFingerprint(carried) !== manifest.pepper_fingerprint ? "not the pepper the manifest names (fingerprint mismatch)" : undefined;
    files.push(problem ? { path: manifest.secrets.pepper, ok: false, problem } : { path: manifest.secrets.pepper, ok: true });
  }
  return { ok: files.every((f) => f.ok), files, manifest };
}

/** The data key of an encrypted tenant in a backup: from the backup's own control plane copy. */
async function backupKey(dir: string, tenant: string, vault: KeyVault | null): Promise<string | null> {
  const wrapped = await readBackupControl(dir, "SELECT wrapped_key AS value FROM tenants WHERE id = ?", [tenant]);
  if (!wrapped) return null;
  if (!vault) throw new AppError("config_invalid", `tenant ${tenant} is encrypted in this backup: configure the master key to verify it`);
  return vault.unwrap(wrapped, tenant);
}

/** A setting recorded in a backup's control plane (older backups have no settings table: null). */
export const backupSetting = (dir: string, name: string) => readBackupControl(dir, "SELECT value FROM settings WHERE name = ?", [name]).catch(() => null);

async function readBackupControl(dir: string, sql: string, args: string[]): Promise<string | null> {
  const { createClient } = await import("@libsql/client");
  const client = createClient({ url: `file:${join(dir, "control.db")}`, concurrency: 1 });
  try {
    const value = (await client.execute({ sql, args })).rows[0]?.value;
    return typeof value === "string" ? value : null;
  } finally {
    client.close();
  }
}

const manifestPath = /^(control\.db|tenants\/([a-z0-9][a-z0-9-]{0,62})\.db)$/;

/** Reads and checks a manifest: every path it names must stay inside the backup and match its tenant. */
export function readManifest(dir: string): BackupManifest {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  } catch {
    throw invalidInput(`${dir} is not an mcp-mt backup (no readable manifest.json)`);
  }
  if (manifest?.format !== "mcp-mt-backup/1") throw invalidInput(`${dir}: unknown backup format ${JSON.stringify(manifest?.format)}`);
  if (!Array.isArray(manifest.files)) throw invalidInput(`${dir}/manifest.json lists no files`);
  for (const file of manifest.files) {
    const match = manifestPath.exec(String(file?.path));
    const tenant = match?.[2] ?? null;
    if (!match || tenant !== (file.tenant ?? null) || (tenant !== null && assertTenantId(tenant) !== tenant)) {
      throw invalidInput(`${dir}/manifest.json names an unexpected file ${JSON.stringify(file?.path)}: a backup holds only control.db and tenants/<id>.db`);
    }
  }
  if (manifest.tenant != null) assertTenantId(manifest.tenant);
  if (manifest.secrets !== undefined && manifest.secrets.pepper !== pepperInBackup) throw invalidInput(`${dir}/manifest.json names an unexpected secrets file`);
  return manifest;
}

/** Opens a database file as it is (no pragmas changed) and runs PRAGMA integrity_check; throws unless it says ok. */
export function checkIntegrity(path: string, sqlite: SqliteOptions, key: string | null): void {
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
