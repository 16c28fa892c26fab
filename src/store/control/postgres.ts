/** The control plane on PostgreSQL: the same drizzle queries as on libSQL, over a postgres.js pool. */
import { drizzle } from "drizzle-orm/postgres-js";
import type postgres from "postgres";
import type { Sql } from "postgres";
import { AppError } from "../../errors.ts";
import { applyMigrations, type MigrationSource, type MigrationTarget } from "../migrate.ts";
import { pgControlMigrations } from "../migrations.gen.ts";
import { connectPostgres, describePgError, redactedPgUrl, type PgPoolOptions } from "../pg-connect.ts";
import type { ControlDb, PostgresControl } from "./db.ts";
import * as schema from "./schema.ts";

/** Migrations run through `sql` (a transaction or a reserved connection): statements in order, no transaction of its own. */
export const pgTarget = (sql: Sql): MigrationTarget => ({
  dialect: "postgres",
  rows: async (query) => (await sql.unsafe(query).values()) as unknown[][],
  applyAtomically: async (statements) => {
    for (const s of statements) await sql.unsafe(s.sql, s.args);
  },
});

/**
 * Applies `source` in one transaction holding a transaction-level advisory lock named `lock`: of N instances
 * starting at once, one migrates and the others wait, then find nothing pending.
 */
export async function migratePostgres(sql: Sql, source: MigrationSource[], lock: string): Promise<string[]> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${lock}))`;
    return applyMigrations(pgTarget(tx as unknown as Sql), source);
  }) as Promise<string[]>;
}

/** Connects to PostgreSQL at `url`, migrates the control plane under its advisory lock, and returns it. */
export async function openPostgresControl(url: string, pool: PgPoolOptions): Promise<PostgresControl> {
  const sql = connectPostgres(url, pool);
  try {
    await migratePostgres(sql, pgControlMigrations, "mcp-mt:control");
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw new AppError("unavailable", `cannot open the control plane on PostgreSQL at ${redactedPgUrl(url)}: ${describePgError(error)}`);
  }
  // The libSQL-typed handle runs the same queries here: the tables are mirrored column for column (schema.pg.ts).
  const db = drizzle(sql, { schema }) as unknown as ControlDb;
  // libSQL's batch (several statements, one transaction) is what the control code uses for atomic changes;
  // postgres-js has none, so the same queries run in order inside one transaction here.
  Object.assign(db, {
    batch: (queries: { toSQL(): { sql: string; params: unknown[] } }[]) =>
      sql.begin(async (tx) => {
        const results: unknown[] = [];
        for (const query of queries) {
          const { sql: text, params } = query.toSQL();
          results.push(await tx.unsafe(text, params as postgres.ParameterOrJSON<never>[]));
        }
        return results;
      }),
  });
  return {
    dialect: "postgres",
    db,
    sql,
    where: redactedPgUrl(url),
    ping: async () => void (await sql`select 1`),
    close: async () => sql.end({ timeout: 5 }),
    onChange: async (changed) => {
      // postgres.js re-listens after a reconnect and calls the second callback each time it (re)listens.
      await sql.listen("mcp_mt_control", () => changed(), () => changed());
    },
  };
}
