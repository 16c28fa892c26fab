/**
 * Documents as plain records, the unit every backend exports and imports (storage copy, tenant export,
 * import and move), and the libSQL side of it: reading a tenant file, and writing an export file (a libSQL
 * file with the tenant schema, which `tenant import` and any SQLite tool can read).
 */
import type Database from "libsql";
import { renameSync, rmSync } from "node:fs";
import { applyMigrations, nativeTarget } from "./migrate.ts";
import { tenantMigrations } from "./migrations.gen.ts";
import { openTenantFile, type SqliteOptions } from "./open.ts";

/** One document with everything that makes it the same document elsewhere (times in epoch ms). */
export type DocumentRecord = {
  id: string;
  title: string;
  content: string;
  tags: string[];
  version: number;
  bytes: number;
  created_at: number;
  updated_at: number;
};

/** Count and SHA-256 of a tenant's documents, independent of backend and row order. */
export class RecordDigest {
  #records = new Map<string, string>();

  add(records: DocumentRecord[]): void {
    for (const r of records) this.#records.set(r.id, JSON.stringify([r.id, r.title, r.content, r.tags, r.version, r.bytes, r.created_at, r.updated_at]));
  }

  result(): { documents: number; sha256: string } {
    const hash = new Bun.CryptoHasher("sha256");
    for (const id of [...this.#records.keys()].sort()) hash.update(`${this.#records.get(id)}\n`);
    return { documents: this.#records.size, sha256: hash.digest("hex") };
  }
}

/** The documents of an open libSQL tenant database, in batches, in insertion order. */
export function* readRecords(db: Database.Database, batch = 500): Generator<DocumentRecord[]> {
  const select = db.prepare("SELECT seq, id, title, content, tags, version, bytes, created_at, updated_at FROM documents WHERE seq > ? ORDER BY seq LIMIT ?");
  for (let after = 0; ; ) {
    const rows = select.all(after, batch) as (Omit<DocumentRecord, "tags"> & { seq: number; tags: string })[];
    if (rows.length === 0) return;
    after = rows.at(-1)!.seq;
    yield rows.map(({ seq: _, tags, ...r }) => ({ ...r, tags: JSON.parse(tags) as string[] }));
  }
}

/** Inserts records into an open libSQL tenant database (one transaction per batch); an id already there is replaced. */
export function writeRecords(db: Database.Database, records: DocumentRecord[]): void {
  const remove = db.prepare("DELETE FROM documents WHERE id = ?");
  const insert = db.prepare("INSERT INTO documents (id, title, content, tags, version, bytes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq");
  const tag = db.prepare("INSERT OR IGNORE INTO document_tags (tag, doc_seq) VALUES (?, ?)");
  db.transaction(() => {
    for (const r of records) {
      remove.run(r.id);
      const { seq } = insert.get(r.id, r.title, r.content, JSON.stringify(r.tags), r.version, r.bytes, r.created_at, r.updated_at) as { seq: number };
      for (const t of r.tags) tag.run(t, seq);
    }
  })();
}

/**
 * Writes `batches` into a new plaintext libSQL tenant file at `path`, built under a temporary name and
 * renamed into place when complete: an interrupted export leaves nothing that looks finished.
 */
export async function writeExportFile(path: string, batches: AsyncIterable<DocumentRecord[]> | Iterable<DocumentRecord[]>, sqlite: SqliteOptions): Promise<{ documents: number; sha256: string }> {
  const temp = `${path}.partial`;
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(temp + suffix, { force: true });
  const db = openTenantFile(temp, sqlite, null, "delete");
  const digest = new RecordDigest();
  try {
    await applyMigrations(nativeTarget(db), tenantMigrations);
    for await (const batch of batches) {
      writeRecords(db, batch);
      digest.add(batch);
    }
  } catch (error) {
    db.close();
    for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(temp + suffix, { force: true });
    throw error;
  }
  db.close();
  renameSync(temp, path);
  return digest.result();
}
