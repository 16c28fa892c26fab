/** Opens data/control.db and brings it to the current schema. */
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import type { Client } from "@libsql/client";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { applyMigrations, clientTarget } from "../migrate.ts";
import { controlMigrations } from "../migrations.gen.ts";
import { openSqlite, type SqliteOptions } from "../open.ts";
import * as schema from "./schema.ts";

export type ControlDatabase = { client: Client; db: LibSQLDatabase<typeof schema>; path: string };

/** Opens (creating if needed) the control plane in `dataDir` and applies its migrations idempotently. */
export async function openControl(dataDir: string, sqlite: SqliteOptions): Promise<ControlDatabase> {
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
  return { client, db: drizzle(client, { schema }), path };
}
