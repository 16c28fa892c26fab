/**
 * Tenants apart in compute, through the binary: one tenant's stuck statement (here: its file's write lock held
 * from outside, so its write waits inside its store worker) never delays another tenant or /healthz, the stuck
 * request gets its 504 at the plan's deadline, and the file stays intact with every acknowledged write present.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Database from "libsql";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let server: ServerProcess;
const keys: Record<string, string> = {};

async function call(key: string, name: string, args: Record<string, unknown>) {
  const { body, headers } = modernRequest("tools/call", { name, arguments: args });
  const response = await fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as any };
}

/** Holds the tenant file's write lock from this process until released. */
function holdWriteLock(tenant: string): () => void {
  const db = new Database(join(dir, "data", "tenants", `${tenant}.db`), { timeout: 0 } as Database.Options);
  db.exec("BEGIN EXCLUSIVE");
  return () => {
    db.exec("ROLLBACK");
    db.close();
  };
}

beforeAll(async () => {
  let bin: string;
  ({ dir, bin } = binaryInEmptyDir());
  for (const id of ["stuck", "victim", "greedy"]) keys[id] = run(bin, ["tenant", "add", id, "--json"], { cwd: dir }).json().api_key;
  // The greedy tenant may use 2 ms of store-worker CPU a minute: a handful of searches.
  run(bin, ["tenant", "set-limit", "greedy", "--cpu-ms-per-minute", "2", "--rate-limit", "10000"], { cwd: dir });
  // The stuck tenant's requests end at 2 s; its writes would wait up to 5 s for the lock (busy_timeout).
  run(bin, ["tenant", "set-limit", "stuck", "--request-timeout-ms", "2000"], { cwd: dir });
  // ONE store worker: both tenants start on it, so the victim is only served if the stall hand-off works.
  server = await startServe(bin, dir, [], { MCP_MT_TENANCY_WORKERS: "1", MCP_MT_TENANCY_STALL_MS: "50" });
});
afterAll(async () => {
  await server?.stop();
  cleanupTempDirs();
});

describe("compute isolation (one store worker)", () => {
  test("a tenant stuck in its worker: it gets 504 at its deadline, the other tenant and /healthz are served meanwhile", async () => {
    const acknowledged: string[] = [];
    for (let i = 0; i < 5; i++) {
      const created = await call(keys.stuck!, "create_document", { title: `kept ${i}`, content: "acknowledged before the stall" });
      expect(created.status).toBe(200);
      acknowledged.push(created.body.result.structuredContent.id);
    }
    const victimDoc = (await call(keys.victim!, "create_document", { title: "victim", content: "served" })).body.result.structuredContent.id;

    const release = holdWriteLock("stuck");
    const events: string[] = [];
    const stuck = call(keys.stuck!, "create_document", { title: "during the stall", content: "may or may not land" }).then((r) => {
      events.push("stuck");
      return r;
    });
    await Bun.sleep(100);
    for (let i = 0; i < 5; i++) {
      const read = await call(keys.victim!, "get_document", { id: victimDoc });
      expect(read.status).toBe(200);
      expect(read.body.result.structuredContent.id).toBe(victimDoc);
      expect((await fetch(new URL("/healthz", server.url))).status).toBe(200);
    }
    events.push("victim served");
    const timedOut = await stuck;
    expect(timedOut.status).toBe(504);
    expect(timedOut.body.error.message).toContain("timed out after 2000 ms");
    // The victim was served while the stuck request was still waiting on its deadline.
    expect(events).toEqual(["victim served", "stuck"]);
    release();

    // Every acknowledged write is there, the tenant works again, and its file is intact.
    const listed = await call(keys.stuck!, "list_documents", { limit: 100 });
    const ids = listed.body.result.structuredContent.documents.map((d: { id: string }) => d.id);
    for (const id of acknowledged) expect(ids).toContain(id);
    expect((await call(keys.stuck!, "create_document", { title: "after", content: "works again" })).status).toBe(200);
    const check = new Database(join(dir, "data", "tenants", "stuck.db"), { readonly: true } as Database.Options);
    expect(check.prepare("PRAGMA integrity_check").raw().all()).toEqual([["ok"]]);
    check.close();
  });

  test("the hand-off is logged: the operator sees which tenant stalled a worker", () => {
    const line = server.stderr().split("\n").find((l) => l.includes("store worker stalled by one tenant"));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: "warn", tenant: "stuck", moved: 1 });
  });

  test("a tenant that keeps the store workers busy is refused by its CPU budget (429), another tenant is served", async () => {
    for (let i = 0; i < 20; i++) await call(keys.greedy!, "create_document", { title: `doc ${i}`, content: "searching burns worker time ".repeat(200) });
    let refused: { status: number; body: any } | undefined;
    for (let i = 0; i < 300 && !refused; i++) {
      const r = await call(keys.greedy!, "search_documents", { query: "searching burns", limit: 20 });
      if (r.status === 429) refused = r;
      else expect(r.status).toBe(200);
    }
    expect(refused).toBeDefined();
    expect(refused!.body.error.message).toContain("cpu_ms_per_minute");
    expect(refused!.body.error.data).toMatchObject({ budget: "cpu_ms_per_minute", limit: 2 });
    expect((await call(keys.victim!, "list_documents", {})).status).toBe(200);
  });

  test("a tenant added while the server runs takes its file's locks like any other: a write never slips past another process's lock", async () => {
    // Built under a temporary name and renamed into place inside the server: its WAL index must be the real one.
    const fresh = run(join(dir, "mcp-mt"), ["tenant", "add", "fresh", "--json"], { cwd: dir }).json().api_key as string;
    run(join(dir, "mcp-mt"), ["tenant", "set-limit", "fresh", "--request-timeout-ms", "1000"], { cwd: dir });
    expect((await call(fresh, "list_documents", {})).status).toBe(200);
    const release = holdWriteLock("fresh");
    const blocked = await call(fresh, "create_document", { title: "while locked", content: "must wait for the lock" });
    expect(blocked.status).toBe(504);
    release();
    const after = await call(fresh, "create_document", { title: "after", content: "acknowledged" });
    expect(after.status).toBe(200);
    await Bun.sleep(200);
    const file = new Database(join(dir, "data", "tenants", "fresh.db"), { readonly: true } as Database.Options);
    const titles = (file.prepare("SELECT title FROM documents").raw().all() as string[][]).map((r) => r[0]);
    file.close();
    expect(titles).toContain("after");
  });
});
