/** `mcp-mt migrate [--dry-run]` on PostgreSQL: every tenant of every strategy, with its strategy and what is pending. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pgRowMigrations, pgTenantMigrations } from "../../src/store/migrations.gen.ts";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { pgDatabase, pgServer } from "../helpers/postgres.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let database: string;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });
const rowLatest = pgRowMigrations.at(-1)!.tag;
const tenantLatest = pgTenantMigrations.at(-1)!.tag;

beforeAll(() => {
  ({ dir, bin } = binaryInEmptyDir());
  const db = pgDatabase("e2e_migrate");
  database = db.name;
  const url = new URL(db.url);
  url.password = "";
  writeFileSync(join(dir, "mcp-mt.toml"), `[storage]\nurl = "${url}"\nisolation = "row"\n`);
  for (const [id, isolation] of [["rows", "row"], ["schemed", "schema"], ["own-db", "database"]]) {
    expect(mt("tenant", "add", id!, "--isolation", isolation!).code).toBe(0);
  }
});
afterAll(cleanupTempDirs);

describe("migrate on PostgreSQL", () => {
  test("--dry-run reports every tenant of every strategy as current, with the PostgreSQL sets' latest", () => {
    const dry = mt("migrate", "--dry-run", "--json");
    expect(dry.code).toBe(0);
    expect(dry.json()).toEqual({
      dry_run: true,
      latest: `row ${rowLatest}, schema and database ${tenantLatest}`,
      latest_sets: { control: expect.any(String), tenant: { row: rowLatest, schema: tenantLatest, database: tenantLatest } },
      tenants: [
        { tenant: "own-db", isolation: "database", status: "current", migrations: [] },
        { tenant: "rows", isolation: "row", status: "current", migrations: [] },
        { tenant: "schemed", isolation: "schema", status: "current", migrations: [] },
      ],
    });
    const human = mt("migrate", "--dry-run").stdout;
    expect(human).toContain(`Control plane: current (PostgreSQL). Tenant schema: row ${rowLatest}, schema and database ${tenantLatest}. (dry run: nothing changed)`);
    expect(human).toMatch(/schemed\s+schema\s+current/);
  });

  test("a pending migration is reported by --dry-run, applied by migrate, and current afterwards", () => {
    // Forget the schema tenant's last migration (it is idempotent, so applying it again is harmless).
    pgServer().psql(`DELETE FROM "t_schemed".__drizzle_migrations WHERE created_at = ${pgTenantMigrations.at(-1)!.when}`, database);
    const pending = (mt("migrate", "--dry-run", "--json").json().tenants as any[]).find((t) => t.tenant === "schemed");
    expect(pending).toEqual({ tenant: "schemed", isolation: "schema", status: "pending", migrations: [tenantLatest] });
    const applied = mt("migrate", "--json");
    expect(applied.code).toBe(0);
    expect((applied.json().tenants as any[]).find((t) => t.tenant === "schemed")).toEqual({ tenant: "schemed", isolation: "schema", status: "migrated", migrations: [tenantLatest] });
    expect((mt("migrate", "--dry-run", "--json").json().tenants as any[]).map((t) => t.status)).toEqual(["current", "current", "current"]);
  });

  test("a tenant whose database is gone is reported missing, naming the database, and migrate fails", () => {
    pgServer().psql(`DROP DATABASE "${database}_t_own_db" WITH (FORCE)`);
    const report = mt("migrate", "--json");
    expect(report.code).toBe(1);
    expect((report.json().tenants as any[])[0]).toEqual({ tenant: "own-db", isolation: "database", status: "missing", migrations: [], error: `PostgreSQL database "${database}_t_own_db" is missing` });
  });
});
