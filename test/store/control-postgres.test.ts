/** The control plane on a real PostgreSQL: mirrored tables, migrations under an advisory lock, and the same queries as libSQL. */
import { afterAll, describe, expect, test } from "bun:test";
import { getTableConfig as pgTableConfig } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteTableConfig, type SQLiteTable } from "drizzle-orm/sqlite-core";
import { eq, sql } from "drizzle-orm";
import { configSchema } from "../../src/config/schema.ts";
import { usageReport } from "../../src/metering/usage-report.ts";
import { UsageMeter } from "../../src/metering/usage-meter.ts";
import { openPostgresControl } from "../../src/store/control/postgres.ts";
import { pgControlMigrations } from "../../src/store/migrations.gen.ts";
import * as lite from "../../src/store/control/schema.ts";
import * as pg from "../../src/store/control/schema.pg.ts";
import type { PgTable } from "drizzle-orm/pg-core";
import { pgDatabase } from "../helpers/postgres.ts";
import { openControl } from "../../src/store/control/db.ts";
import { copyControl } from "../../src/store/copy-control.ts";
import { tempDir } from "../helpers/tmp.ts";
import { FakeTime } from "../helpers/fake-time.ts";
import { KeyService } from "../../src/auth/keys.ts";
import type { AuditLog } from "../../src/audit/audit-log.ts";

const pool = { max: 4, maxLifetimeS: 60 };
const opened: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
}, 30_000);

describe("the PostgreSQL control schema mirrors the libSQL one", () => {
  const tables = Object.entries(lite).filter(([, v]) => typeof v === "object" && v !== null && Symbol.for("drizzle:IsDrizzleTable") in (v as object));
  test("every libSQL table has a PostgreSQL twin", () => {
    expect(tables.length).toBeGreaterThanOrEqual(9);
    for (const [name] of tables) expect(Object.keys(pg)).toContain(name);
  });
  test.each(tables.map(([name]) => name))("%s: same columns, same nullability, same keys", (name) => {
    const a = sqliteTableConfig((lite as unknown as Record<string, SQLiteTable>)[name]!);
    const b = pgTableConfig((pg as unknown as Record<string, PgTable>)[name]!);
    expect(b.name).toBe(a.name);
    const shape = (cols: { name: string; notNull: boolean; primary: boolean }[]) => cols.map((c) => `${c.name}:${c.notNull}:${c.primary}`).sort();
    expect(shape(b.columns)).toEqual(shape(a.columns));
    expect(b.indexes.map((i) => i.config.name).sort()).toEqual(a.indexes.map((i) => i.config.name).sort());
  });
});

describe("control plane on PostgreSQL", () => {
  test("three instances starting at once migrate once", async () => {
    const { url, server, name } = pgDatabase("control");
    const controls = await Promise.all([1, 2, 3].map(() => openPostgresControl(url, pool)));
    opened.push(...controls);
    expect(server.psql("select count(*) from __drizzle_migrations", name).trim()).toBe(String(pgControlMigrations.length));
    // The queries written for libSQL run unchanged: JSON columns, integers, upserts, returning.
    const db = controls[0]!.db;
    await db.insert(lite.tenants).values({ id: "acme", name: "Acme", plan: "free", overrides: { max_documents: 5 }, createdAt: 1, updatedAt: 2, isolation: "row" });
    const [row] = await controls[1]!.db.select().from(lite.tenants).where(eq(lite.tenants.id, "acme"));
    expect(row).toEqual({ id: "acme", name: "Acme", plan: "free", status: "active", overrides: { max_documents: 5 }, createdAt: 1, updatedAt: 2, wrappedKey: null, isolation: "row" });
    const [count] = await controls[2]!.db.select({ n: sql<number>`count(*)` }).from(lite.tenants);
    expect(Number(count!.n)).toBe(1);
  });

  test("usage flushed by several instances adds up", async () => {
    const { url } = pgDatabase("usage");
    const [a, b] = await Promise.all([openPostgresControl(url, pool), openPostgresControl(url, pool)]);
    opened.push(a!, b!);
    const time = new FakeTime(Date.UTC(2026, 10, 15, 12));
    const meters = [a!, b!].map((control) => new UsageMeter({ control, clock: time.wall, monotonic: time.monotonic, timers: time.timers }));
    for (let i = 0; i < 5; i++) for (const meter of meters) meter.add("acme", "tool_calls", 3);
    await Promise.all(meters.map((m) => m.flush()));
    meters[0]!.add("acme", "tool_calls", 1);
    await meters[0]!.flush();
    const report = await usageReport({ control: b!, pricing: configSchema.parse({}).pricing, month: "2026-11" });
    expect(report[0]?.tool_calls).toBe(31);
  });

  // The flushes write many rows per statement (chunks of 500 usage rows, 300 keys): more than one chunk each here.
  test.each(["libsql", "postgres"])("%s: a flush of 1,201 tenants' usage and 701 keys' last use writes every row exactly", async (dialect) => {
    const control = dialect === "postgres" ? await openPostgresControl(pgDatabase("many").url, pool) : await openControl(tempDir("many-"), { busyTimeoutMs: 5000, synchronous: "NORMAL" });
    opened.push(control);
    const time = new FakeTime(Date.UTC(2026, 10, 15, 12));
    const meter = new UsageMeter({ control, clock: time.wall, monotonic: time.monotonic, timers: time.timers });
    const ids = Array.from({ length: 1201 }, (_, i) => `t${i}`);
    await control.db.insert(lite.tenants).values(ids.map((id) => ({ id, name: id, plan: "free", overrides: {}, createdAt: 1, updatedAt: 1 })));
    await control.db.insert(lite.usage).values({ tenantId: "t7", month: "2026-11", event: "tool_calls", count: 100 });
    ids.forEach((id, i) => meter.add(id, "tool_calls", i + 1));
    await meter.flush();
    meter.add("t7", "tool_calls", 2);
    await meter.flush();
    const rows = await control.db.select().from(lite.usage).where(eq(lite.usage.event, "tool_calls"));
    expect(rows.length).toBe(1201);
    const byTenant = new Map(rows.map((r) => [r.tenantId, Number(r.count)]));
    expect(byTenant.get("t0")).toBe(1);
    expect(byTenant.get("t7")).toBe(100 + 8 + 2);
    expect(byTenant.get("t1200")).toBe(1201);

    const keys = new KeyService({ control, pepper: "p".repeat(32), clock: () => 1, audit: { append: async () => undefined } as unknown as AuditLog });
    const keyIds = Array.from({ length: 701 }, (_, i) => `k${i}`);
    await control.db.insert(lite.apiKeys).values(keyIds.map((id, i) => ({ id, tenantId: ids[i]!, label: "", prefix: id, hash: "h", scopes: [], createdAt: 1 })));
    await keys.recordUse(new Map(keyIds.slice(0, 700).map((id, i) => [id, 1_000_000_000_000 + i])));
    const used = new Map((await control.db.select().from(lite.apiKeys)).map((r) => [r.id, r.lastUsedAt === null ? null : Number(r.lastUsedAt)]));
    expect(used.get("k0")).toBe(1_000_000_000_000);
    expect(used.get("k699")).toBe(1_000_000_000_699);
    expect(used.get("k700")).toBeNull();
  });

  test("a change on one instance is heard by the others, and a reconnect counts as a change", async () => {
    const { url, server } = pgDatabase("notify");
    const [a, b] = await Promise.all([openPostgresControl(url, pool), openPostgresControl(url, pool)]);
    opened.push(a!, b!);
    let heard = 0;
    await b!.onChange(() => heard++);
    const afterListen = heard;
    await a!.db.insert(lite.tenants).values({ id: "acme", name: "Acme", plan: "free", overrides: {}, createdAt: 1, updatedAt: 1, isolation: "row" });
    await a!.db.insert(lite.apiKeys).values({ id: "k1", tenantId: "acme", prefix: "p", hash: "h", scopes: [], createdAt: 1 });
    // A key's last-use time is not a change anybody must hear (it is written every few seconds).
    await a!.db.update(lite.apiKeys).set({ lastUsedAt: 5 }).where(eq(lite.apiKeys.id, "k1"));
    await Bun.sleep(300);
    expect(heard).toBe(afterListen);
    await a!.db.update(lite.apiKeys).set({ revokedAt: 5 }).where(eq(lite.apiKeys.id, "k1"));
    await a!.db.update(lite.tenants).set({ status: "suspended" }).where(eq(lite.tenants.id, "acme"));
    const deadline = Date.now() + 5_000;
    while (heard < afterListen + 2 && Date.now() < deadline) await Bun.sleep(20);
    expect(heard).toBe(afterListen + 2);
    // Notifications sent while the listener is down are lost: re-listening must count as a change.
    server.restart();
    const before = heard;
    const reconnect = Date.now() + 15_000;
    while (heard === before && Date.now() < reconnect) {
      await b!.ping().catch(() => undefined);
      await Bun.sleep(100);
    }
    expect(heard).toBeGreaterThan(before);
  }, 30_000);

  test("a libSQL control plane copies over, verified table by table, and a second copy is safe", async () => {
    const { url } = pgDatabase("copy");
    const source = await openControl(tempDir(), { synchronous: "NORMAL", busyTimeoutMs: 1000 });
    const target = await openPostgresControl(url, pool);
    opened.push(source, target);
    await source.db.insert(lite.tenants).values([1, 2, 3].map((i) => ({ id: `t${i}`, name: `T ${i} ü "q"`, plan: "free", overrides: { max_documents: i }, createdAt: i, updatedAt: i, isolation: "file" as const })));
    await source.db.insert(lite.apiKeys).values({ id: "k1", tenantId: "t1", prefix: "p", hash: "h", scopes: ["documents:read"], createdAt: 1 });
    await source.db.insert(lite.usage).values({ tenantId: "t1", month: "2026-11", event: "tool_calls", count: 7 });
    const toRow = (table: string, row: Record<string, unknown>) => (table === "tenants" ? { ...row, isolation: "row" } : row);
    const first = await copyControl(source, target, toRow);
    expect(first.every((t) => t.checksum_ok && t.source_rows === t.target_rows)).toBe(true);
    expect(first.find((t) => t.table === "tenants")).toEqual({ table: "tenants", source_rows: 3, target_rows: 3, target_only_rows: 0, checksum_ok: true });
    // More traffic, then the copy again: the target catches up, nothing is doubled.
    await source.db.update(lite.usage).set({ count: 9 });
    const second = await copyControl(source, target, toRow);
    expect(second.every((t) => t.checksum_ok)).toBe(true);
    const [u] = await target.db.select().from(lite.usage);
    expect(u!.count).toBe(9);
    const [t] = await target.db.select().from(lite.tenants).where(eq(lite.tenants.id, "t1"));
    expect(t!.isolation).toBe("row");
    expect(t!.name).toBe('T 1 ü "q"');
  });

  test("an unreachable server is named, without a stack", async () => {
    const error = await openPostgresControl("postgres://nobody:secret-pw@127.0.0.1:1/none", { ...pool, connectTimeoutS: 2 }).catch((e) => e);
    expect(error.code).toBe("unavailable");
    expect(error.message).toMatch(/PostgreSQL .*unreachable/);
    expect(error.message).not.toContain("secret-pw");
  });
});
