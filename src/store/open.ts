/** Opens libSQL files: a single connection each (one writer), WAL, busy timeout, synchronous level. */
import { createClient, type Client } from "@libsql/client";
import Database from "libsql";
import { closeSync, openSync, readSync } from "node:fs";
import { pathToFileURL } from "node:url";

export type SqliteOptions = {
  synchronous: "OFF" | "NORMAL" | "FULL" | "EXTRA";
  busyTimeoutMs: number;
  /** Store workers: writes of one tenant that arrive together share one transaction (default true). */
  groupCommit?: boolean;
};

/** The control plane: a libSQL client with one connection (the pool would otherwise open up to 20). */
export async function openSqlite(path: string, options: SqliteOptions): Promise<Client> {
  const client = createClient({
    url: pathToFileURL(path).href,
    concurrency: 1,
    intMode: "number",
    timeout: options.busyTimeoutMs,
  });
  try {
    // Pragmas are per connection; with concurrency 1 the pool keeps this one connection.
    await client.execute("PRAGMA journal_mode = WAL");
    await client.execute(`PRAGMA synchronous = ${options.synchronous}`);
    await client.execute(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

/**
 * A tenant file: libSQL's native connection, on which statements are prepared once and reused (the client
 * API prepares every call; a cached statement is ~7x cheaper on the hot path). One connection per file.
 */
export function openTenantFile(path: string, options: SqliteOptions, encryptionKey?: string | null, journal: "wal" | "delete" = "wal"): Database.Database {
  const db = new Database(path, { timeout: options.busyTimeoutMs, ...(encryptionKey ? { encryptionKey } : {}) } as Database.Options);
  try {
    // "delete" for a file built under a temporary name and renamed into place: SQLite binds a WAL's shared-memory
    // index to the inode under the name it was first opened with, and libSQL frees a closed connection only at
    // GC, so a WAL file renamed while that connection lives would later be opened with the OLD name's index
    // (measured: its writes took no lock against other processes and were lost). WAL starts on the first open
    // at the real path.
    db.exec(`PRAGMA journal_mode = ${journal === "wal" ? "WAL" : "DELETE"}`);
    db.exec(`PRAGMA synchronous = ${options.synchronous}`);
    db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Whether a database file is plain SQLite (readable without a key): its header says so in clear text. */
export function isPlaintextDatabase(path: string): boolean {
  try {
    const fd = openSync(path, "r");
    try {
      const header = Buffer.alloc(16);
      const n = readSync(fd, header, 0, 16, 0);
      return n === 0 || header.toString("latin1") === "SQLite format 3\u0000";
    } finally {
      closeSync(fd);
    }
  } catch {
    return true;
  }
}
