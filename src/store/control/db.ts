/**
 * Opens the control plane (tenants, keys, usage, audit, OAuth) and brings it to the current schema: a libSQL
 * file in the data directory by default, or PostgreSQL when `storage.url` is set. Both give the same drizzle
 * database: the control code is written once (see schema.pg.ts for why that holds).
 */
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import type { Client } from "@libsql/client";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { applyMigrations, clientTarget } from "../migrate.ts";
import { controlMigrations } from "../migrations.gen.ts";
import { openSqlite, type SqliteOptions } from "../open.ts";
import * as schema from "./schema.ts";

/** The control plane's drizzle database, whichever dialect runs it. */
export type ControlDb = LibSQLDatabase<typeof schema>;

type ControlCommon = {
  db: ControlDb;
  /** One cheap round trip; throws when the control plane is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Calls `changed` when another process may have changed tenants, keys, grants or members (PostgreSQL:
   * LISTEN/NOTIFY, and on every (re)connect of the listener since notifications sent meanwhile are lost).
   * On libSQL one server owns the control plane, so there is nothing to hear.
   */
  onChange(changed: () => void): Promise<void>;
};

export type LibsqlControl = ControlCommon & { dialect: "libsql"; client: Client; path: string };
export type PostgresControl = ControlCommon & { dialect: "postgres"; /** The URL without its password. */ where: string; sql: import("postgres").Sql };
export type ControlDatabase = LibsqlControl | PostgresControl;

/** Opens (creating if needed) the control plane in `dataDir` and applies its migrations idempotently. */
export async function openControl(dataDir: string, sqlite: SqliteOptions): Promise<LibsqlControl> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, "control.db");
  const client = await openSqlite(path, sqlite);
  try {
    await client.execute("PRAGMA foreign_keys = ON");
    await applyMigrations(clientTarget(client), controlMigrations);
  } catch (error) {
    client.close();
    throw error;
  }
  return {
    dialect: "libsql",
    client,
    db: drizzle(client, { schema }),
    path,
    ping: async () => void (await client.execute("SELECT 1 FROM tenants LIMIT 1")),
    close: async () => client.close(),
    onChange: async () => undefined,
  };
}
