/**
 * A tenant's documents as records, whatever its backend: a libSQL file is read and written directly (the CLI
 * runs inline; an encrypted file is opened with its data key from the vault), a PostgreSQL tenant through
 * its strategy. Used by `storage copy`, `tenant export`, `tenant import` and `tenant move`.
 */
import { eq } from "drizzle-orm";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import { sqliteOptions } from "../services.ts";
import { tenants } from "../store/control/schema.ts";
import { readRecords, RecordDigest, writeRecords, type DocumentRecord } from "../store/document-records.ts";
import { applyMigrations, nativeTarget } from "../store/migrate.ts";
import { tenantMigrations } from "../store/migrations.gen.ts";
import { openTenantFile } from "../store/open.ts";
import { PostgresTenantStorage } from "../store/postgres/postgres-tenant-storage.ts";

type Backend = Pick<Services, "control" | "vault" | "registry" | "storage" | "config">;

/** The storage when the tenant lives in PostgreSQL, else null (a libSQL file). */
export const pgStorageOf = (services: Backend): PostgresTenantStorage | null => (services.storage instanceof PostgresTenantStorage ? services.storage : null);

/** The data key of an encrypted libSQL tenant file (null: plaintext). */
async function fileKey(services: Backend, id: string): Promise<string | null> {
  const [row] = await services.control.db.select({ wrappedKey: tenants.wrappedKey }).from(tenants).where(eq(tenants.id, id));
  if (!row) throw new AppError("not_found", `tenant ${id} does not exist`);
  if (!row.wrappedKey) return null;
  if (!services.vault) throw new AppError("unavailable", `tenant ${id} is encrypted: configure the master key (encryption.master_key_file or MCP_MT_ENCRYPTION_MASTER_KEY)`);
  return services.vault.unwrap(row.wrappedKey, id);
}

async function openFile(services: Backend, id: string) {
  const path = services.registry.pathOf(id);
  if (!(await services.registry.exists(id))) throw new AppError("not_found", `tenant ${id} has no database file (${path})`);
  // This process must not hold the file open twice (one connection per file).
  await services.registry.close(id);
  const db = openTenantFile(path, sqliteOptions(services.config), await fileKey(services, id));
  try {
    await applyMigrations(nativeTarget(db), tenantMigrations);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** The tenant's documents, a batch at a time, in insertion order. */
export async function* recordsOf(services: Backend, id: string, batch = 500): AsyncGenerator<DocumentRecord[]> {
  const pg = pgStorageOf(services);
  if (pg) {
    yield* pg.exportRecords(id, batch);
    return;
  }
  const db = await openFile(services, id);
  try {
    yield* readRecords(db, batch);
  } finally {
    db.close();
  }
}

/** Count and SHA-256 of the tenant's documents as stored now. */
export async function digestOf(services: Backend, id: string): Promise<{ documents: number; sha256: string }> {
  const digest = new RecordDigest();
  for await (const batch of recordsOf(services, id)) digest.add(batch);
  return digest.result();
}

/**
 * Upserts `batches` into the tenant's storage by document id (id, version, timestamps and size kept); with
 * `exact`, documents the batches did not carry are deleted afterwards, so the tenant ends equal to them.
 * Answers the digest of what was written and how many documents `exact` removed.
 */
export async function writeInto(services: Backend, id: string, batches: AsyncIterable<DocumentRecord[]> | Iterable<DocumentRecord[]>, exact: boolean): Promise<{ written: { documents: number; sha256: string }; removed: number }> {
  const digest = new RecordDigest();
  const ids: string[] = [];
  const pg = pgStorageOf(services);
  if (pg) {
    for await (const batch of batches) {
      await pg.importRecords(id, batch);
      digest.add(batch);
      for (const r of batch) ids.push(r.id);
    }
    return { written: digest.result(), removed: exact ? await pg.keepOnlyRecords(id, ids) : 0 };
  }
  const db = await openFile(services, id);
  try {
    for await (const batch of batches) {
      writeRecords(db, batch);
      digest.add(batch);
      for (const r of batch) ids.push(r.id);
    }
    let removed = 0;
    if (exact) {
      const keep = new Set(ids);
      const stale = (db.prepare("SELECT id FROM documents").all() as { id: string }[]).filter((r) => !keep.has(r.id));
      const untag = db.prepare("DELETE FROM document_tags WHERE doc_seq = (SELECT seq FROM documents WHERE id = ?)");
      const remove = db.prepare("DELETE FROM documents WHERE id = ?");
      db.transaction(() => stale.forEach((r) => (untag.run(r.id), remove.run(r.id))))();
      removed = stale.length;
    }
    return { written: digest.result(), removed };
  } finally {
    db.close();
  }
}
