/** Bulk provisioning: `tenant add --from tenants.csv` on the files and through a running server's admin API. */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { v2Http } from "../helpers/clients.ts";
import { startServe } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const count = 200;
const csv = (prefix: string) => ["id,plan,name", ...Array.from({ length: count }, (_, i) => `${prefix}${i},${i % 2 ? "pro" : ""},"${prefix} ${i}, Inc."`)].join("\n") + "\n";

/** Parses the command's CSV output (its names are quoted: they contain commas). */
function keysFrom(text: string): { id: string; name: string; plan: string; key_id: string; api_key: string }[] {
  const [header, ...lines] = text.trim().split("\n");
  expect(header).toBe("id,name,plan,key_id,api_key");
  return lines.map((line) => {
    const [, id, name, plan, keyId, apiKey] = /^([^,]+),"([^"]+)",([^,]+),([^,]+),([^,]+)$/.exec(line)!;
    return { id: id!, name: name!, plan: plan!, key_id: keyId!, api_key: apiKey! };
  });
}

describe("tenant add --from", () => {
  test(`${count} tenants on the files, then ${count} through the running server: every key printed once and working`, async () => {
    const { dir, bin } = binaryInEmptyDir();
    writeFileSync(join(dir, "a.csv"), csv("a"));
    writeFileSync(join(dir, "b.csv"), csv("b"));
    const files = run(bin, ["tenant", "add", "--from", "a.csv", "--format", "csv"], { cwd: dir });
    expect(files.code).toBe(0);
    const a = keysFrom(files.stdout);
    expect(a).toHaveLength(count);
    expect(a[3]).toMatchObject({ id: "a3", name: "a 3, Inc.", plan: "pro" });
    expect(a[4]).toMatchObject({ id: "a4", plan: "free" });

    const server = await startServe(bin, dir);
    try {
      const api = run(bin, ["tenant", "add", "--from", "b.csv", "--json"], { cwd: dir });
      expect(api.code).toBe(0);
      const b = api.json().tenants as { id: string; api_key: string }[];
      expect(b).toHaveLength(count);
      const all = [...a, ...b];
      expect(new Set(all.map((t) => t.api_key)).size).toBe(2 * count);
      // A sample of keys from each path opens its own tenant's store, which starts empty.
      for (const t of [a[0]!, a[count - 1]!, b[0]!, b[count - 1]!]) {
        const client = await v2Http(server.url, t.api_key, "modern");
        await client.callTool("create_document", { title: `doc of ${t.id}`, content: "x" });
        const listed = await client.callTool("list_documents", {});
        expect(listed.structuredContent.documents.map((d: { title: string }) => d.title)).toEqual([`doc of ${t.id}`]);
        await client.close();
      }
    } finally {
      await server.stop();
    }
    const listed = run(bin, ["tenant", "list", "--json"], { cwd: dir }).json().tenants;
    expect(listed).toHaveLength(2 * count);
    expect(readdirSync(join(dir, "data", "tenants")).filter((f) => f.endsWith(".db"))).toHaveLength(2 * count);
    expect(readdirSync(join(dir, "data", "tenants")).filter((f) => !/^[ab]\d+\.db(-wal|-shm)?$/.test(f))).toEqual([]);
    const audit = run(bin, ["audit", "verify"], { cwd: dir });
    expect(audit.code).toBe(0);
  });

  // Every bad file is refused before anything is created: the tenant list stays as it was.
  const bad: { name: string; text: string; code: number; says: string }[] = [
    { name: "an invalid id, named by line", text: "id,plan\nok-1,free\nBad_Id,free\n", code: 2, says: "tenants.csv line 3: tenant id \"Bad_Id\" is invalid" },
    { name: "an unknown plan", text: "id,plan\nok-1,free\nok-2,platinum\n", code: 2, says: 'unknown plan "platinum"' },
    { name: "the same id twice", text: "id\nok-1\nok-1\n", code: 2, says: "tenant ok-1 is listed twice" },
    { name: "an existing tenant", text: "id\nok-1\nexisting\n", code: 1, says: "1 of these tenants already exist: existing; nothing was created" },
    { name: "no header row", text: "ok-1,free\n", code: 2, says: 'unknown column "ok-1"' },
    { name: "an unknown column", text: "id,plan,colour\nok-1,free,red\n", code: 2, says: 'unknown column "colour"' },
    { name: "too many fields", text: "id,name\nok-1,Acme, Inc.\n", code: 2, says: "line 2: 3 fields, but the header has 2 columns" },
    { name: "an unclosed quote", text: 'id,name\nok-1,"Acme\n', code: 2, says: "a quoted field is never closed" },
    { name: "no rows", text: "id,plan\n", code: 2, says: "has a header row but no tenants" },
  ];

  test.each(bad)("$name → refused, nothing created", ({ text, code, says }) => {
    const { dir, bin } = binaryInEmptyDir();
    run(bin, ["tenant", "add", "existing"], { cwd: dir });
    writeFileSync(join(dir, "tenants.csv"), text);
    const result = run(bin, ["tenant", "add", "--from", "tenants.csv"], { cwd: dir });
    expect(result.stderr).toContain(says);
    expect(result.code).toBe(code);
    expect(run(bin, ["tenant", "list", "--json"], { cwd: dir }).json().tenants.map((t: { id: string }) => t.id)).toEqual(["existing"]);
    expect(readdirSync(join(dir, "data", "tenants")).filter((f) => f.endsWith(".db"))).toEqual(["existing.db"]);
  });
});
