/**
 * A tenant whose database file is damaged, end to end: its calls get "tenant storage damaged" (503), the
 * other tenant is served; `tenant show`, /metrics, the admin API (the TUI's data) and the log (once) say so;
 * `tenant check` finds it and exits 1; `backup --all` backs up the others, names it and exits 1; restoring it
 * from an earlier backup makes the check clean and its calls work again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openSync, closeSync, writeSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let server: ServerProcess;
const keys: Record<string, string> = {};
const docs: Record<string, string[]> = { acme: [], globex: [] };
let goodBackup: string;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });
const admin = async (path: string) => (await fetch(`http://x${path}`, { unix: join(dir, "data", "admin.sock") } as RequestInit)).json() as Promise<any>;
const logLines = () => server.stderr().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, any>);

let nextId = 1;
async function call(tenant: string, name: string, args: Record<string, unknown>) {
  const { body, headers } = modernRequest("tools/call", { name, arguments: args }, nextId++);
  const response = await fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${keys[tenant]}` }, body: JSON.stringify(body) });
  const json = (await response.json()) as any;
  return { status: response.status, retryAfter: response.headers.get("retry-after"), error: json.error as { code: number; message: string } | undefined, result: json.result };
}

/** The damage an operator finds after a bad disk: the file header overwritten. */
function damageHeader(path: string): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
  } finally {
    closeSync(fd);
  }
}

async function metricsText(): Promise<string> {
  const url = logLines().find((l) => l.msg === "metrics listening")!.url as string;
  return (await fetch(url)).text();
}

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  writeFileSync(join(dir, "mcp-mt.toml"), `[log]\nformat = "json"\n[backups]\ndir = "${join(dir, "backups")}"\n`);
  for (const id of ["acme", "globex"]) keys[id] = mt("tenant", "add", id, "--plan", "pro", "--json").json().api_key;
  server = await startServe(bin, dir);
  for (const id of ["acme", "globex"]) {
    for (let i = 0; i < 5; i++) docs[id]!.push((await call(id, "create_document", { title: `${id} ${i}`, content: `text ${i}` })).result.structuredContent.id);
  }
  const backup = mt("backup", "--all", "--json");
  expect(backup.code).toBe(0);
  goodBackup = backup.json().dir;
  // Damage acme's file while no server holds it (an open connection would keep serving its cached pages).
  expect(await server.stop()).toBe(0);
  damageHeader(join(dir, "data", "tenants", "acme.db"));
  server = await startServe(bin, dir);
});

afterAll(async () => {
  await server?.stop();
  cleanupTempDirs();
});

describe("a damaged tenant database", () => {
  test("its calls get a clear 'tenant storage damaged' answer (503 when a protocol error), logged once; others are served", async () => {
    for (let i = 0; i < 3; i++) {
      const answer = await call("acme", "list_documents", {});
      const text = answer.error?.message ?? answer.result?.content?.[0]?.text ?? "";
      expect(text).toContain("Tenant storage damaged");
      if (answer.error) {
        expect(answer.status).toBe(503);
        expect(answer.retryAfter).not.toBeNull();
      } else expect(answer.result.isError).toBe(true);
    }
    expect((await call("globex", "list_documents", {})).result.structuredContent.documents.length).toBe(5);
    await Bun.sleep(100);
    const logged = logLines().filter((l) => l.code === "storage_damaged" && l.tenant === "acme");
    expect(logged.length).toBe(1);
    expect(logged[0]!.level).toBe("error");
    expect(logLines().filter((l) => l.msg === "tenant store failed" || /internal error/.test(String(l.msg)))).toEqual([]);
  });

  test("tenant show says damaged (text and --json); /metrics counts it; the admin API (TUI) marks it", async () => {
    const text = mt("tenant", "show", "acme");
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("DAMAGED");
    expect(text.stdout).toContain("mcp-mt restore");
    const json = mt("tenant", "show", "acme", "--json").json();
    expect(json.database.health.state).toBe("damaged");
    expect(json.database.documents).toBeNull();
    expect(mt("tenant", "show", "globex", "--json").json().database.health).toEqual({ state: "ok" });
    expect(await metricsText()).toMatch(/^mcp_mt_damaged_tenant_databases 1$/m);
    const tenants = (await admin("/v1/tenants")).tenants as { id: string; live: { database_damaged: string | null } }[];
    expect(tenants.find((t) => t.id === "acme")!.live.database_damaged).toBeTruthy();
    expect(tenants.find((t) => t.id === "globex")!.live.database_damaged).toBeNull();
    expect((await admin("/v1/status")).damaged_tenants).toEqual(["acme"]);
  });

  test("tenant check finds it and exits 1; a healthy tenant checks clean", () => {
    const all = mt("tenant", "check");
    expect(all.code).toBe(1);
    expect(all.stdout).toMatch(/acme\s+DAMAGED/);
    expect(all.stdout).toMatch(/globex\s+ok/);
    const json = mt("tenant", "check", "--json");
    expect(json.code).toBe(1);
    expect(json.json().results.map((r: { id: string; ok: boolean }) => [r.id, r.ok])).toEqual([
      ["acme", false],
      ["globex", true],
    ]);
    expect(mt("tenant", "check", "globex").code).toBe(0);
  });

  test("backup --all backs up every healthy tenant, names the damaged one and exits non-zero", () => {
    const backup = mt("backup", "--all", "--json");
    expect(backup.code).toBe(1);
    const { manifest } = backup.json();
    expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual(["control.db", "tenants/globex.db"]);
    expect(manifest.damaged.map((d: { tenant: string }) => d.tenant)).toEqual(["acme"]);
    const text = mt("backup", "--all");
    expect(text.code).toBe(1);
    expect(text.stdout).toContain("NOT BACKED UP (database damaged): acme");
    expect(mt("backup", "verify", backup.json().dir).code).toBe(0);
  });

  test("repair: restore the tenant from the last good backup; the check is clean and its calls work", async () => {
    const restored = mt("restore", goodBackup, "--tenant", "acme");
    expect(restored.code).toBe(0);
    expect(mt("tenant", "check").code).toBe(0);
    const listed = await call("acme", "list_documents", {});
    expect(listed.status).toBe(200);
    expect(listed.result.structuredContent.documents.map((d: { id: string }) => d.id).sort()).toEqual([...docs.acme!].sort());
    expect((await call("acme", "create_document", { title: "after repair", content: "ok" })).result.isError ?? false).toBe(false);
    expect(await metricsText()).toMatch(/^mcp_mt_damaged_tenant_databases 0$/m);
    expect(mt("tenant", "show", "acme", "--json").json().database.health).toEqual({ state: "ok" });
  });
});
