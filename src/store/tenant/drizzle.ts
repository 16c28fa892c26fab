/**
 * drizzle's synchronous SQLite driver over libSQL's native connection (the same API better-sqlite3 has).
 * Built by hand because drizzle's better-sqlite3 entry point imports the better-sqlite3 package itself.
 */
import { createTableRelationsHelpers, extractTablesRelationalConfig } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { BetterSQLiteSession } from "drizzle-orm/better-sqlite3/session";
import { BaseSQLiteDatabase, SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type Database from "libsql";

export function drizzleOnLibsql<TSchema extends Record<string, unknown>>(native: Database.Database, schema: TSchema): BetterSQLite3Database<TSchema> {
  const dialect = new SQLiteSyncDialect();
  const tables = extractTablesRelationalConfig(schema, createTableRelationsHelpers);
  const relational = { fullSchema: schema, schema: tables.tables, tableNamesMap: tables.tableNamesMap };
  const session = new BetterSQLiteSession(native as never, dialect, relational as never, {});
  return new BaseSQLiteDatabase("sync", dialect, session as never, relational as never) as unknown as BetterSQLite3Database<TSchema>;
}
