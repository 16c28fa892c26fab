/** A graceful stop leaves every tenant's .db complete on its own: a copy of the file alone (no -wal) has every row. */
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe } from "../helpers/server.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

describe("graceful stop", () => {
  test("after SIGTERM, a copy of only the tenant .db holds every acknowledged document", async () => {
    const { dir, bin } = binaryInEmptyDir();
    const keys: Record<string, string> = {};
    for (const id of ["acme", "globex"]) keys[id] = run(bin, ["tenant", "add", id, "--plan", "pro", "--json"], { cwd: dir }).json().api_key;
    const server = await startServe(bin, dir);
    const written: Record<string, string[]> = { acme: [], globex: [] };
    for (const id of ["acme", "globex"]) {
      for (let i = 0; i < 40; i++) {
        const { body, headers } = modernRequest("tools/call", { name: "create_document", arguments: { title: `${id}-${i}`, content: `body ${i} of ${id}` } }, i);
        const response = await fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${keys[id]}` }, body: JSON.stringify(body) });
        const json = (await response.json()) as any;
        expect(json.result.isError ?? false).toBe(false);
        written[id]!.push(json.result.structuredContent.id);
      }
    }
    // The writes are in the -wal while the server runs: that is what the stop must fold back in.
    expect(existsSync(join(dir, "data", "tenants", "acme.db-wal")) && statSync(join(dir, "data", "tenants", "acme.db-wal")).size > 0).toBe(true);
    expect(await server.stop("SIGTERM")).toBe(0);

    const elsewhere = tempDir("mcp-mt-db-alone-");
    for (const id of ["acme", "globex"]) {
      const copy = join(elsewhere, `${id}.db`);
      copyFileSync(join(dir, "data", "tenants", `${id}.db`), copy);
      expect(existsSync(`${copy}-wal`)).toBe(false);
      const db = new Database(copy, { readonly: true });
      try {
        const ids = (db.query("SELECT id FROM documents ORDER BY id").all() as { id: string }[]).map((r) => r.id);
        expect(ids).toEqual([...written[id]!].sort());
        expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      } finally {
        db.close();
      }
    }
  });
});
