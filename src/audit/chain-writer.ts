/**
 * Appends to the audit chain so that several instances sharing one control plane never fork it: the chain
 * head is read and the next entries inserted inside ONE transaction that only one writer, of any process,
 * holds at a time.
 * - libSQL: a dedicated native connection runs BEGIN IMMEDIATE (the file's write lock), the head read, the
 *   inserts and COMMIT synchronously, in one turn of the event loop. While another process holds the lock, the
 *   append waits between attempts with a timer (up to the busy timeout, on the monotonic clock), never in
 *   SQLite's busy handler, which would sleep on the thread serving every tenant. Synchronous on purpose: the control client has one connection, which an open async transaction
 *   would take from every other query of the process (libSQL refuses them), and a lock held across an await
 *   would let this process's own writers sleep in SQLite's busy handler on the thread that must release it.
 * - PostgreSQL: a transaction on the pool taking a transaction-scoped advisory lock on one fixed key first.
 */
import { desc, sql } from "drizzle-orm";
import Database from "libsql";
import type { ControlDatabase } from "../store/control/db.ts";
import { auditLog, type AuditRow } from "../store/control/schema.ts";

export type ChainHead = { seq: number; hash: string } | null;

/** Builds the rows to append after the current head (called once, inside the lock). */
export type ChainRows = (head: ChainHead) => AuditRow[];

export interface ChainWriter {
  append(rows: ChainRows): Promise<void>;
  close(): void;
}

/** The advisory lock key of the audit chain on PostgreSQL (a fixed 64-bit value no other lock uses). */
export const auditChainLockKey = "7310593858020254052";

export function chainWriter(control: ControlDatabase, busyTimeoutMs = 5_000): ChainWriter {
  return control.dialect === "postgres" ? new PostgresChainWriter(control) : new LibsqlChainWriter(control.path, busyTimeoutMs);
}

const insertSql = "INSERT INTO audit_log (seq, at, actor, tenant_id, action, target, outcome, client, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

class LibsqlChainWriter implements ChainWriter {
  readonly #path: string;
  readonly #busyTimeoutMs: number;
  #db: Database.Database | undefined;

  constructor(path: string, busyTimeoutMs: number) {
    this.#path = path;
    this.#busyTimeoutMs = busyTimeoutMs;
  }

  async append(build: ChainRows): Promise<void> {
    // Opened on first use and kept: libSQL frees a closed connection's descriptors only at GC.
    const db = (this.#db ??= new Database(this.#path, { timeout: 0, fileMustExist: true } as Database.Options));
    const deadline = performance.now() + this.#busyTimeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      try {
        db.exec("BEGIN IMMEDIATE");
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== "SQLITE_BUSY" || performance.now() + wait > deadline) throw error;
        await Bun.sleep(wait);
      }
    }
    try {
      const head = (db.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").get() as ChainHead | undefined) ?? null;
      const insert = db.prepare(insertSql);
      for (const r of build(head)) insert.run(r.seq, r.at, r.actor, r.tenantId, r.action, r.target, r.outcome, r.client, JSON.stringify(r.details), r.prevHash, r.hash);
      db.exec("COMMIT");
    } catch (error) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw error;
    }
  }

  close(): void {
    this.#db?.close();
    this.#db = undefined;
  }
}

class PostgresChainWriter implements ChainWriter {
  readonly #control: ControlDatabase;

  constructor(control: ControlDatabase) {
    this.#control = control;
  }

  append(build: ChainRows): Promise<void> {
    return this.#control.db.transaction(async (tx) => {
      // drizzle's postgres-js transaction runs raw SQL with execute(); the lock is released at commit.
      await (tx as unknown as { execute(query: ReturnType<typeof sql>): Promise<unknown> }).execute(sql`select pg_advisory_xact_lock(${auditChainLockKey}::bigint)`);
      const [head] = await tx.select({ seq: auditLog.seq, hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1);
      const rows = build(head ?? null);
      for (let i = 0; i < rows.length; i += 500) await tx.insert(auditLog).values(rows.slice(i, i + 500));
    });
  }

  close(): void {}
}
