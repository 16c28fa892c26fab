/** The control plane on PostgreSQL: the same drizzle queries as on libSQL, over a postgres.js pool. */
import { drizzle } from "drizzle-orm/postgres-js";
import type postgres from "postgres";
import { AppError } from "../../errors.ts";
import { pgControlMigrations } from "../migrations.gen.ts";
import { applyOn, underMigrationLock } from "../postgres/migrate.ts";
import { connectPostgres, describePgError, redactedPgUrl, type PgPoolOptions } from "../pg-connect.ts";
import type { ControlDb, PostgresControl } from "./db.ts";
import * as schema from "./schema.ts";

/** Connects to PostgreSQL at `url`, migrates the control plane under its advisory lock, and returns it. */
export async function openPostgresControl(url: string, pool: PgPoolOptions): Promise<PostgresControl> {
  const sql = connectPostgres(url, pool);
  try {
    // The same runner as the tenant sets: one transaction under an advisory lock, so N instances migrate once.
    await underMigrationLock(sql as never, "control", (conn) => applyOn(conn, pgControlMigrations, { schema: "public", table: "__drizzle_migrations" }));
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
