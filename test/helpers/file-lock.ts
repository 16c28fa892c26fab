/** Holds a tenant file's write lock from another connection until released: the tenant's next write waits for it. */
import Database from "libsql";

export function holdWriteLock(path: string): () => void {
  const db = new Database(path, { timeout: 0 } as Database.Options);
  db.exec("BEGIN EXCLUSIVE");
  return () => {
    db.exec("ROLLBACK");
    db.close();
  };
}
