/** Applies embedded drizzle-kit migrations, keeping drizzle's own `__drizzle_migrations` table format. */
import type { Client } from "@libsql/client";
import type Database from "libsql";

export type MigrationSource = { tag: string; when: number; sql: string };

/** What migrating needs from a database, whichever driver holds it. */
export type MigrationTarget = {
  rows(sql: string): Promise<unknown[][]>;
  /** Runs the statements in one transaction: all or nothing. */
  applyAtomically(statements: { sql: string; args: (string | number)[] }[]): Promise<void>;
};

export const clientTarget = (client: Client): MigrationTarget => ({
  rows: async (sql) => (await client.execute(sql)).rows.map((row) => Array.from(row)),
  applyAtomically: async (statements) => void (await client.batch(statements, "write")),
});

export const nativeTarget = (db: Database.Database): MigrationTarget => ({
  rows: async (sql) => db.prepare(sql).raw().all() as unknown[][],
  applyAtomically: async (statements) =>
    db.transaction(() => {
      for (const s of statements) {
        if (s.args.length) db.prepare(s.sql).run(...s.args);
        else db.exec(s.sql);
      }
    })(),
});

const table = "__drizzle_migrations";

/** The migrations a database has not applied yet, in order. */
export async function pendingMigrations(target: MigrationTarget, source: MigrationSource[]): Promise<MigrationSource[]> {
  const exists = await target.rows(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '${table}'`);
  if (exists.length === 0) return source;
  const last = await target.rows(`SELECT created_at FROM ${table} ORDER BY created_at DESC LIMIT 1`);
  const lastWhen = last.length ? Number(last[0]![0]) : -1;
  return source.filter((migration) => migration.when > lastWhen);
}

/** Applies pending migrations in one transaction; returns the tags applied. */
export async function applyMigrations(target: MigrationTarget, source: MigrationSource[]): Promise<string[]> {
  const pending = await pendingMigrations(target, source);
  if (pending.length === 0) return [];
  const statements: { sql: string; args: (string | number)[] }[] = [
    { sql: `CREATE TABLE IF NOT EXISTS ${table} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`, args: [] },
  ];
  for (const migration of pending) {
    for (const statement of migration.sql.split("--> statement-breakpoint")) {
      if (statement.trim()) statements.push({ sql: statement, args: [] });
    }
    const hash = new Bun.CryptoHasher("sha256").update(migration.sql).digest("hex");
    statements.push({ sql: `INSERT INTO ${table} ("hash", "created_at") VALUES (?, ?)`, args: [hash, migration.when] });
  }
  await target.applyAtomically(statements);
  return pending.map((migration) => migration.tag);
}
