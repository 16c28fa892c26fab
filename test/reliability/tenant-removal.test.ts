/**
 * A removed tenant leaves no trace in the control plane (keys, usage, quota consumption, billed tool names)
 * except its audit entries, which are the record: an id used again starts clean. With and without a server.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { v2Http } from "../helpers/clients.ts";
import { startServe } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

/** Control-plane rows that mention the tenant, per table. */
function traces(dir: string, id: string): { tenants: number; api_keys: number; usage: number; audit_log: number } {
  const db = new Database(join(dir, "data", "control.db"), { readonly: true });
  try {
    const n = (sql: string) => (db.query(sql).get(id) as { n: number }).n;
    return {
      tenants: n("SELECT count(*) AS n FROM tenants WHERE id = ?"),
      api_keys: n("SELECT count(*) AS n FROM api_keys WHERE tenant_id = ?"),
      usage: n("SELECT count(*) AS n FROM usage WHERE tenant_id = ?"),
      audit_log: n("SELECT count(*) AS n FROM audit_log WHERE tenant_id = ?"),
    };
  } finally {
    db.close();
  }
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.each([["with a server running (admin API)", true], ["on the files (no server)", false]] as const)("tenant removal %s", (_name, withServer) => {
  test("clears keys and usage, keeps the audit entries; the id used again starts with no usage and only its new key", async () => {
    const { dir, bin } = binaryInEmptyDir();
    const mt = (...args: string[]) => run(bin, args, { cwd: dir });
    const first = mt("tenant", "add", "acme", "--json").json();
    const server = await startServe(bin, dir);
    const client = await v2Http(server.url, first.api_key, "modern");
    for (let i = 0; i < 3; i++) await client.callTool("create_document", { title: `d${i}`, content: "x" });
    await client.close();
    // The meter writes in batches (metering.flush_interval_ms): wait until the usage is in the control plane.
    await waitFor(() => traces(dir, "acme").usage > 0, "usage to be flushed");
    if (!withServer) await server.stop();
    const usedBefore = mt("usage", "--tenant", "acme", "--json").json().tenants[0];
    expect(usedBefore.tool_calls).toBe(3);
    expect(Object.keys(usedBefore.tools)).toEqual(["create_document"]);
    const auditBefore = traces(dir, "acme").audit_log;

    expect(mt("tenant", "remove", "acme", "--yes").code).toBe(0);
    expect(traces(dir, "acme")).toEqual({ tenants: 0, api_keys: 0, usage: 0, audit_log: auditBefore + 1 });

    const second = mt("tenant", "add", "acme", "--json").json();
    if (withServer) {
      await Bun.sleep(1_500); // one flush interval: nothing of the old tenant may come back
      await server.stop();
    }
    const usage = mt("usage", "--tenant", "acme", "--json").json().tenants[0];
    expect(usage).toMatchObject({ tool_calls: 0, documents_created: 0, tools: {} });
    const keys = mt("key", "list", "acme", "--json").json().keys.map((k: { id: string }) => k.id);
    expect(keys).toEqual([second.key_id]);
    const actions = mt("audit", "show", "--tenant", "acme", "--json").json().entries.map((e: { action: string }) => e.action);
    expect(actions.filter((a: string) => a === "tenant.created")).toHaveLength(2);
    expect(actions).toContain("tenant.removed");
    expect(mt("tenant", "show", "acme", "--json").json().database.documents).toBe(0);
  });
});
