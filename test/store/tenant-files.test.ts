import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { createClient } from "@libsql/client";
import { applyMigrations, clientTarget, pendingMigrations } from "../../src/store/migrate.ts";
import { tenantMigrations } from "../../src/store/migrations.gen.ts";
import { TenantFiles as TenantRegistry } from "../../src/store/libsql/tenant-files.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const sqlite = { synchronous: "NORMAL" as const, busyTimeoutMs: 5000 };
const openFds = () => readdirSync("/proc/self/fd").length;

function registry(maxOpen: number) {
  return new TenantRegistry({ dataDir: tempDir(), maxOpen, sqlite });
}

describe("TenantRegistry", () => {
  test("creates a migrated file, refuses to open a tenant without one", async () => {
    const reg = registry(4);
    await reg.create("acme");
    expect(reg.exists("acme")).toBe(true);
    const tables = await reg.use("acme", async ({ native }) => (native.prepare("SELECT name FROM sqlite_master WHERE type IN ('table') ORDER BY name").raw().all() as string[][]).map((r) => r[0]));
    expect(tables).toContain("documents");
    expect(tables).toContain("documents_fts");
    expect(tables).toContain("__drizzle_migrations");
    await expect(reg.use("ghost", async () => 1)).rejects.toThrow("tenant ghost has no database");
    expect(reg.exists("ghost")).toBe(false);
    await expect(reg.create("acme")).rejects.toThrow("already exists");
    await reg.closeAll();
  });

  test("keeps at most maxOpen databases open, evicting the least recently used", async () => {
    const reg = registry(3);
    for (const id of ["a", "b", "c", "d"]) await reg.create(id);
    await reg.closeAll();
    for (const id of ["a", "b", "c"]) await reg.use(id, async () => undefined);
    await reg.use("a", async () => undefined); // a is now the most recent
    await reg.use("d", async () => undefined);
    expect(reg.openCount).toBe(3);
    expect(reg.isOpen("b")).toBe(false);
    expect(["a", "c", "d"].every((id) => reg.isOpen(id))).toBe(true);
    await reg.closeAll();
  });

  test("a database in use is not evicted, even past the cap", async () => {
    const reg = registry(1);
    await reg.create("a");
    await reg.create("b");
    await reg.use("a", async ({ native }) => {
      await reg.use("b", async () => undefined);
      // a is still usable while b pushed the registry over its cap
      expect(native.prepare("SELECT count(*) FROM documents").raw().get()).toEqual([0]);
    });
    expect(reg.openCount).toBe(1);
    await reg.closeAll();
  });

  test("concurrent opens of one tenant share a single client", async () => {
    const reg = registry(8);
    await reg.create("acme");
    await reg.closeAll();
    const clients = await Promise.all(Array.from({ length: 20 }, () => reg.use("acme", async ({ native }) => native)));
    expect(new Set(clients).size).toBe(1);
    await reg.closeAll();
  });

  test("opening an older tenant file migrates it", async () => {
    const reg = registry(4);
    const path = reg.pathOf("old");
    await reg.create("seed"); // makes the tenants directory
    const client = createClient({ url: `file:${path}`, concurrency: 1 });
    await applyMigrations(clientTarget(client), tenantMigrations.slice(0, 1));
    await client.execute("INSERT INTO documents (id, title, content, tags, version, bytes, created_at, updated_at) VALUES ('d1', 'Old title', 'written before FTS existed', '[]', 1, 10, 1, 1)");
    client.close();
    expect(await reg.pending("old")).toEqual(tenantMigrations.slice(1).map((m) => m.tag));
    const hits = await reg.use("old", async ({ native }) => (native.prepare("SELECT id FROM documents_fts JOIN documents ON documents.seq = documents_fts.rowid WHERE documents_fts MATCH 'written'").raw().all() as string[][]).map((r) => r[0]));
    expect(await reg.pending("old")).toEqual([]);
    // rows written before the FTS migration are indexed by it, and counted by the storage totals
    expect(hits).toEqual(["d1"]);
    const stats = await reg.use("old", async ({ native }) => native.prepare("SELECT documents, bytes FROM tenant_stats").raw().get() as number[]);
    expect([stats![0], stats![1]]).toEqual([1, 10]);
    const again = createClient({ url: `file:${path}`, concurrency: 1 });
    expect(await pendingMigrations(clientTarget(again), tenantMigrations)).toEqual([]);
    again.close();
    await reg.closeAll();
  });

  test("descriptors stay bounded when 3x the cap of tenants are opened", async () => {
    const cap = 16;
    const reg = registry(cap);
    const ids = Array.from({ length: cap * 3 }, (_, i) => `t${i}`);
    for (const id of ids) await reg.create(id);
    await reg.closeAll();
    await Bun.sleep(50);
    Bun.gc(true);
    const baseline = openFds();
    let peak = 0;
    for (const id of ids) {
      await reg.use(id, async ({ native }) => native.prepare("SELECT count(*) FROM documents").all());
      peak = Math.max(peak, openFds() - baseline);
    }
    expect(reg.openCount).toBe(cap);
    // 3 descriptors per WAL database; without forced collection the peak would reach 3 * 48 = 144.
    expect(peak).toBeLessThanOrEqual(3 * cap * 2);
    await reg.closeAll();
  });
});
