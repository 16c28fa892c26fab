/**
 * Applies the embedded PostgreSQL migration sets (drizzle/pg-row, drizzle/pg-tenant), keeping drizzle's
 * migration-table format (id serial, hash text, created_at bigint). A set is applied in one transaction, under
 * a session advisory lock held on one dedicated connection, so N instances starting at once migrate once.
 */
import type { MigrationSource } from "../migrate.ts";
import { quoteIdent } from "./names.ts";
import type { Sql } from "./connection.ts";

/** Where a set records what it applied. */
export type MigrationTable = { schema: string; table: string };

/** One connection (a reserved connection or a transaction): statements run on it in order. */
export type Conn = { unsafe(text: string, params?: never[]): PromiseLike<unknown[]> };

const at = (where: MigrationTable) => `${quoteIdent(where.schema)}.${quoteIdent(where.table)}`;

/** The migrations of `source` not yet recorded in `where`, in order. */
export async function pendingOn(conn: Conn, source: MigrationSource[], where: MigrationTable): Promise<MigrationSource[]> {
  const exists = await conn.unsafe("SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2", [where.schema, where.table] as never[]);
  if (exists.length === 0) return source;
  const last = (await conn.unsafe(`SELECT created_at FROM ${at(where)} ORDER BY created_at DESC LIMIT 1`)) as { created_at: number | string }[];
  const lastWhen = last.length ? Number(last[0]!.created_at) : -1;
  return source.filter((migration) => migration.when > lastWhen);
}

/** Applies what is pending on a connection already inside a transaction; returns the tags applied. */
export async function applyOn(conn: Conn, source: MigrationSource[], where: MigrationTable): Promise<string[]> {
  const pending = await pendingOn(conn, source, where);
  if (pending.length === 0) return [];
  await conn.unsafe(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(where.schema)}`);
  await conn.unsafe(`CREATE TABLE IF NOT EXISTS ${at(where)} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`);
  for (const migration of pending) {
    for (const statement of migration.sql.split("--> statement-breakpoint")) {
      if (statement.trim()) await conn.unsafe(statement);
    }
    const hash = new Bun.CryptoHasher("sha256").update(migration.sql).digest("hex");
    await conn.unsafe(`INSERT INTO ${at(where)} (hash, created_at) VALUES ($1, $2)`, [hash, migration.when] as never[]);
  }
  return pending.map((migration) => migration.tag);
}

/**
 * Runs `fn` in one transaction on a dedicated connection holding the advisory lock named `lock` (per set and
 * target), so concurrent instances wait for the first and then find nothing pending.
 */
export async function underMigrationLock<T>(sql: Sql, lock: string, fn: (conn: Conn) => Promise<T>): Promise<T> {
  const conn = await sql.reserve();
  try {
    await conn.unsafe("SELECT pg_advisory_lock(hashtext($1))", [`mcp-mt:migrate:${lock}`]);
    try {
      await conn.unsafe("BEGIN");
      try {
        const result = await fn(conn as unknown as Conn);
        await conn.unsafe("COMMIT");
        return result;
      } catch (error) {
        await conn.unsafe("ROLLBACK").catch(() => undefined);
        throw error;
      }
    } finally {
      await conn.unsafe("SELECT pg_advisory_unlock(hashtext($1))", [`mcp-mt:migrate:${lock}`]).catch(() => undefined);
    }
  } finally {
    conn.release();
  }
}

/** The row-level set's record (in schema `drizzle`, beside drizzle's own default table, under its own name). */
export const rowMigrationTable: MigrationTable = { schema: "drizzle", table: "__drizzle_migrations_pg_row" };
/** A tenant set's record: inside the tenant's schema, or in `drizzle` of a tenant database. */
export const tenantMigrationTable = (schema: string): MigrationTable => ({ schema, table: "__drizzle_migrations" });
