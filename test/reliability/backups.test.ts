/**
 * Backups hold what they say and nothing else, and paths from requests stay confined: a one-tenant backup
 * carries only that tenant's rows; admin API and manifest paths cannot reach outside their directories.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let server: ServerProcess;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });
const admin = (method: string, path: string, body?: unknown) =>
  fetch(`http://x${path}`, { method, unix: join(dir, "data", "admin.sock"), headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) } as RequestInit);

/** Everything outside the backups directory that an escape would touch, as a listing to compare. */
const snapshot = () => JSON.stringify([readdirSync(dir).sort(), readdirSync(join(dir, "data")).sort(), readFileSync(join(dir, "victim", "keep.txt"), "utf8")]);

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  for (const id of ["acme", "globex"]) expect(mt("tenant", "add", id).code).toBe(0);
  mt("tenant", "set-plan", "globex", "pro");
  mkdirSync(join(dir, "victim"));
  writeFileSync(join(dir, "victim", "keep.txt"), "do not touch");
  writeFileSync(join(dir, "mcp-mt.toml"), `[backups]\ndir = "${join(dir, "backups")}"\n`);
  server = await startServe(bin, dir);
});
afterAll(async () => {
  await server.stop();
  cleanupTempDirs();
});

describe("one-tenant backups", () => {
  test("backup --tenant acme holds acme's rows only: no other tenant's key hashes, usage or audit, not even in free pages", () => {
    const result = mt("backup", "--tenant", "acme", "--out", "one", "--json");
    expect(result.code).toBe(0);
    const { dir: backup, manifest } = result.json();
    expect(manifest.tenant).toBe("acme");
    expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual(["control.db", "tenants/acme.db"]);
    const control = join(backup, "control.db");
    const db = new Database(control, { readonly: true });
    try {
      expect(db.query("SELECT DISTINCT id FROM tenants").all()).toEqual([{ id: "acme" }]);
      expect(db.query("SELECT DISTINCT tenant_id FROM api_keys").all()).toEqual([{ tenant_id: "acme" }]);
      expect(db.query("SELECT count(*) AS n FROM audit_log WHERE tenant_id IS NOT 'acme'").get()).toEqual({ n: 0 });
      expect(db.query("SELECT count(*) AS n FROM usage WHERE tenant_id <> 'acme'").get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
    expect(readFileSync(control).includes("globex")).toBe(false);
    expect(mt("backup", "verify", backup).code).toBe(0);
  });
});

// Each request would, before the fix, have built a path from unchecked input.
const attacks: { name: string; path: string; body: unknown; says: string }[] = [
  { name: "backup: tenant climbing out", path: "/v1/backups", body: { tenant: "../../victim" }, says: "tenant id" },
  { name: "backup: tenant with a slash", path: "/v1/backups", body: { tenant: "a/b" }, says: "tenant id" },
  { name: "backup: tenant '..'", path: "/v1/backups", body: { tenant: ".." }, says: "tenant id" },
  { name: "backup: out climbing out", path: "/v1/backups", body: { out: "../../victim" }, says: "out must be inside" },
  { name: "backup: out absolute elsewhere", path: "/v1/backups", body: { out: "/tmp" }, says: "out must be inside" },
  { name: "restore: relative dir", path: "/v1/restore", body: { dir: "victim" }, says: "absolute path" },
  { name: "restore: tenant climbing out", path: "/v1/restore", body: { dir: "/tmp", tenant: "../victim" }, says: "tenant id" },
  { name: "tenant add: id climbing out", path: "/v1/tenants", body: { id: "../victim" }, says: "tenant id" },
  { name: "bulk add: id climbing out", path: "/v1/tenants/bulk", body: { tenants: [{ id: "ok-one" }, { id: "../../victim" }] }, says: "tenant id" },
];

describe("admin API paths are validated before any path is built", () => {
  test.each(attacks)("$name → 400, nothing outside touched", async ({ path, body, says }) => {
    const before = snapshot();
    const response = await admin("POST", path, body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain(says);
    expect(snapshot()).toBe(before);
    expect(existsSync(join(dir, "data", "tenants", "ok-one.db"))).toBe(false);
  });

  test("a backup inside backups.dir still works through the admin API", async () => {
    const response = await admin("POST", "/v1/backups", { tenant: "globex", out: "nightly" });
    expect(response.status).toBe(201);
    expect(((await response.json()) as { dir: string }).dir.startsWith(join(dir, "backups", "nightly") + "/")).toBe(true);
  });

  test("a manifest naming a file outside the backup is refused before anything is read or replaced", async () => {
    const { dir: backup } = mt("backup", "--out", "crafted", "--json").json();
    const copy = join(dir, "crafted", "evil");
    cpSync(backup, copy, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(copy, "manifest.json"), "utf8"));
    manifest.files.find((f: { tenant: string | null }) => f.tenant === "acme").path = "../../victim/keep.txt";
    writeFileSync(join(copy, "manifest.json"), JSON.stringify(manifest));
    const before = snapshot();
    const response = await admin("POST", "/v1/restore", { dir: copy, tenant: "acme" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("unexpected file");
    expect(snapshot()).toBe(before);
    expect(mt("backup", "verify", copy).code).toBe(2);
  });
});
