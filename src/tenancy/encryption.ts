/** Encrypting existing plaintext tenants, and rotating the master key (rewrapping data keys, files untouched). */
import { eq, isNotNull } from "drizzle-orm";
import { existsSync, renameSync, rmSync } from "node:fs";
import type { Acting } from "../audit/actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { AppError } from "../errors.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { tenants } from "../store/control/schema.ts";
import { applyMigrations, nativeTarget } from "../store/migrate.ts";
import { tenantMigrations } from "../store/migrations.gen.ts";
import { isPlaintextDatabase, openTenantFile, type SqliteOptions } from "../store/open.ts";
import { KeyVault } from "./key-vault.ts";
import type { TenantRegistry } from "./registry.ts";

export type EncryptResult = { tenant: string; status: "encrypted" | "already_encrypted"; documents: number };

type Options = { control: ControlDatabase; registry: TenantRegistry; vault: KeyVault | null; sqlite: SqliteOptions; audit: AuditLog };

export class EncryptionService {
  readonly #o: Options;

  constructor(options: Options) {
    this.#o = options;
  }

  #vault(): KeyVault {
    if (!this.#o.vault) throw new AppError("config_invalid", "no master key: set encryption.master_key_file or MCP_MT_ENCRYPTION_MASTER_KEY first");
    return this.#o.vault;
  }

  /**
   * Rewrites a plaintext tenant file encrypted with a new data key. The wrapped key is stored first, then the
   * encrypted copy atomically replaces the file; a crash in between leaves a plaintext file that still opens
   * (the registry checks the header), and running the command again finishes the job.
   */
  async encryptTenant(id: string, by: Acting): Promise<EncryptResult> {
    if (this.#o.control.dialect === "postgres") {
      throw new AppError("invalid_input", "tenant encryption applies to libSQL files; on PostgreSQL (storage.url) encrypt the database's storage (disk or provider encryption) instead");
    }
    const vault = this.#vault();
    const [row] = await this.#o.control.db.select().from(tenants).where(eq(tenants.id, id));
    if (!row) throw new AppError("not_found", `tenant ${id} does not exist`);
    const path = this.#o.registry.pathOf(id);
    if (row.wrappedKey && !isPlaintextDatabase(path)) return { tenant: id, status: "already_encrypted", documents: 0 };
    // Bring the file to the current schema (through the registry) before copying it.
    await this.#o.registry.touch(id);
    await this.#o.registry.close(id);
    const dataKey = row.wrappedKey ? await vault.unwrap(row.wrappedKey, id) : KeyVault.newDataKey();
    const temp = `${path}.encrypting`;
    for (const suffix of ["", "-wal", "-shm"]) rmSync(temp + suffix, { force: true });
    const plain = openTenantFile(path, this.#o.sqlite);
    // Renamed into place below: a rollback journal under the temporary name (see openTenantFile).
    const encrypted = openTenantFile(temp, this.#o.sqlite, dataKey, "delete");
    let documents = 0;
    try {
      await applyMigrations(nativeTarget(encrypted), tenantMigrations);
      const insertDoc = encrypted.prepare("INSERT INTO documents (seq, id, title, content, tags, version, bytes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
      const insertTag = encrypted.prepare("INSERT INTO document_tags (tag, doc_seq) VALUES (?, ?)");
      encrypted.transaction(() => {
        for (const d of plain.prepare("SELECT seq, id, title, content, tags, version, bytes, created_at, updated_at FROM documents ORDER BY seq").raw().iterate() as Iterable<unknown[]>) {
          insertDoc.run(...d);
          documents++;
        }
        for (const t of plain.prepare("SELECT tag, doc_seq FROM document_tags").raw().iterate() as Iterable<unknown[]>) insertTag.run(...t);
      })();
      encrypted.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      encrypted.close();
      plain.close();
    }
    if (!row.wrappedKey) await this.#o.control.db.update(tenants).set({ wrappedKey: await vault.wrap(dataKey, id) }).where(eq(tenants.id, id));
    for (const suffix of ["-wal", "-shm"]) rmSync(path + suffix, { force: true });
    renameSync(temp, path);
    for (const suffix of ["-wal", "-shm"]) if (existsSync(temp + suffix)) rmSync(temp + suffix, { force: true });
    await this.#o.audit.append({ actor: by.actor, tenantId: id, action: "tenant.encrypted", target: id, details: { documents } });
    return { tenant: id, status: "encrypted", documents };
  }

  /** Rewraps every data key under a new master key in one transaction; no tenant file is touched. */
  async rotateMaster(next: KeyVault, by: Acting): Promise<{ rewrapped: number }> {
    const current = this.#vault();
    const rows = await this.#o.control.db.select({ id: tenants.id, wrappedKey: tenants.wrappedKey }).from(tenants).where(isNotNull(tenants.wrappedKey));
    const updates = [];
    for (const row of rows) {
      const dataKey = await current.unwrap(row.wrappedKey!, row.id);
      updates.push(this.#o.control.db.update(tenants).set({ wrappedKey: await next.wrap(dataKey, row.id) }).where(eq(tenants.id, row.id)));
    }
    if (updates.length) await this.#o.control.db.batch(updates as [(typeof updates)[number], ...typeof updates]);
    await this.#o.audit.append({ actor: by.actor, action: "encryption.master_rotated", details: { rewrapped: rows.length } });
    return { rewrapped: rows.length };
  }
}
