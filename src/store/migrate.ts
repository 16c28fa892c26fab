/** Applies embedded drizzle-kit migrations, keeping drizzle's own `__drizzle_migrations` table format. */
import type { Client } from "@libsql/client";

export type MigrationSource = { tag: string; when: number; sql: string };

const table = "__drizzle_migrations";

/** The migrations a database has not applied yet, in order. */
export async function pendingMigrations(client: Client, source: MigrationSource[]): Promise<MigrationSource[]> {
  const exists = await client.execute(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '${table}'`);
  if (exists.rows.length === 0) return source;
  const last = await client.execute(`SELECT created_at FROM ${table} ORDER BY created_at DESC LIMIT 1`);
  const lastWhen = last.rows.length ? Number(last.rows[0]![0]) : -1;
  return source.filter((migration) => migration.when > lastWhen);
}

/** Applies pending migrations in one transaction; returns the tags applied. */
export async function applyMigrations(client: Client, source: MigrationSource[]): Promise<string[]> {
  const pending = await pendingMigrations(client, source);
  if (pending.length === 0) return [];
  const statements = [`CREATE TABLE IF NOT EXISTS ${table} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`];
  const args: { sql: string; args: (string | number)[] }[] = [];
  for (const migration of pending) {
    for (const statement of migration.sql.split("--> statement-breakpoint")) {
      if (statement.trim()) args.push({ sql: statement, args: [] });
    }
    const hash = new Bun.CryptoHasher("sha256").update(migration.sql).digest("hex");
    args.push({ sql: `INSERT INTO ${table} ("hash", "created_at") VALUES (?, ?)`, args: [hash, migration.when] });
  }
  await client.batch([...statements, ...args], "write");
  return pending.map((migration) => migration.tag);
}

/** Tag of the newest migration a database has, or null. */
export async function currentVersion(client: Client, source: MigrationSource[]): Promise<string | null> {
  const pending = await pendingMigrations(client, source);
  const applied = source.slice(0, source.length - pending.length);
  return applied.at(-1)?.tag ?? null;
}
