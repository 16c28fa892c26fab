/** Backup, verify and restore round trips against the compiled binary, data compared row by row. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { v2Stdio } from "../helpers/clients.ts";
import { startServe } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });
const rows = (id: string) => {
  const db = new Database(join(dir, "data", "tenants", `${id}.db`), { readonly: true });
  try {
    return db.query("SELECT seq, id, title, content, tags, version, bytes, created_at, updated_at FROM documents ORDER BY seq").all();
  } finally {
    db.close();
  }
};

async function write(id: string, docs: string[]): Promise<void> {
  const client = await v2Stdio(bin, dir, {}, "modern", ["--tenant", id]);
  try {
    for (const title of docs) await client.callTool("create_document", { title, content: `${title} body`, tags: ["t"] });
  } finally {
    await client.close();
  }
}

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  mt("tenant", "add", "alpha");
  mt("tenant", "add", "bravo");
  await write("alpha", ["a1", "a2", "a3"]);
  await write("bravo", ["b1", "b2"]);
});
afterAll(cleanupTempDirs);

describe("backups", () => {
  let backupDir: string;
  let alphaBefore: unknown[];
  let bravoBefore: unknown[];

  test("backup (online, with a server running) writes every database and a manifest of checksums", async () => {
    alphaBefore = rows("alpha");
    bravoBefore = rows("bravo");
    const server = await startServe(bin, dir);
    const result = mt("backup", "--out", "backups", "--json");
    await server.stop();
    expect(result.code).toBe(0);
    const { dir: written, manifest } = result.json();
    backupDir = written;
    expect(manifest.format).toBe("mcp-mt-backup/1");
    expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual(["control.db", "tenants/alpha.db", "tenants/bravo.db"]);
    for (const file of manifest.files) expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(readdirSync(join(dir, "backups")).filter((n) => n.endsWith(".partial"))).toEqual([]);
    const verified = mt("backup", "verify", backupDir, "--json");
    expect(verified.code).toBe(0);
    expect(verified.json().ok).toBe(true);
  });

  test("restore of one tenant brings back its rows exactly and leaves the other tenant alone", async () => {
    await write("alpha", ["a4-after-backup"]);
    await write("bravo", ["b3-after-backup"]);
    const bravoNow = rows("bravo");
    const result = mt("restore", backupDir, "--tenant", "alpha", "--json");
    expect(result.code).toBe(0);
    expect(result.json().restored).toEqual(["alpha"]);
    expect(rows("alpha")).toEqual(alphaBefore);
    expect(rows("bravo")).toEqual(bravoNow);
    expect(rows("bravo")).not.toEqual(bravoBefore);
  });

  test("restore of everything brings back every tenant row by row", () => {
    mt("tenant", "remove", "bravo", "--yes");
    const result = mt("restore", backupDir, "--json");
    expect(result.code).toBe(0);
    expect(rows("alpha")).toEqual(alphaBefore);
    expect(rows("bravo")).toEqual(bravoBefore);
    expect(mt("tenant", "list", "--json").json().tenants.map((t: { id: string }) => t.id)).toEqual(["alpha", "bravo"]);
  });

  test("verify catches a damaged file; restore refuses it; under a running server restore goes through it", async () => {
    const path = join(backupDir, "tenants", "bravo.db");
    const bytes = readFileSync(path);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
    writeFileSync(path, bytes);
    const verified = mt("backup", "verify", backupDir, "--json");
    expect(verified.code).toBe(1);
    expect(verified.json().files.find((f: { path: string }) => f.path === "tenants/bravo.db")).toMatchObject({ ok: false, problem: "checksum mismatch" });
    const refused = mt("restore", backupDir, "--tenant", "bravo");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("does not verify: tenants/bravo.db: checksum mismatch");
    // restoring everything needs every file sound; one intact tenant can still be restored
    expect(mt("restore", backupDir).stderr).toContain("checksum mismatch");
    const server = await startServe(bin, dir);
    await write("alpha", ["a5-while-serving"]);
    const live = mt("restore", backupDir, "--tenant", "alpha", "--json");
    await server.stop();
    expect(live.code).toBe(0);
    expect(live.json()).toEqual({ restored: ["alpha"], via: "admin-api" });
    expect(rows("alpha")).toEqual(alphaBefore);
  });

  test("scheduled backups run inside serve and keep the newest N", async () => {
    writeFileSync(join(dir, "sched.toml"), '[backups]\ninterval = "1s"\ndir = "sched"\nkeep = 2\n');
    const server = await startServe(bin, dir, ["--config", "sched.toml"]);
    await Bun.sleep(4_500);
    await server.stop();
    const kept = readdirSync(join(dir, "sched")).filter((n) => n.startsWith("mcp-mt-backup-"));
    expect(kept.length).toBe(2);
    for (const name of kept) expect(mt("backup", "verify", join(dir, "sched", name)).code).toBe(0);
    expect(server.stderr()).toContain('"msg":"scheduled backup written"');
  });
});
