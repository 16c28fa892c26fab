/** Encryption at rest: per-tenant data keys wrapped by a master key, against the compiled binary. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database as SqliteDatabase } from "bun:sqlite";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { v2Stdio } from "../helpers/clients.ts";
import { modernRequest, startServe } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
const withKey = ["--config", "enc.toml"];
const mt = (...args: string[]) => run(bin, args, { cwd: dir });
const fileBytes = (id: string) => ["", "-wal"].map((s) => join(dir, "data", "tenants", `${id}.db${s}`)).filter(existsSync).map((f) => readFileSync(f).toString("latin1")).join("");
const plainSqlite = (id: string) => {
  const db = new SqliteDatabase(join(dir, "data", "tenants", `${id}.db`), { readonly: true });
  try {
    return db.query("SELECT count(*) AS n FROM documents").get();
  } finally {
    db.close();
  }
};

async function storeSecret(id: string, args: string[], secret: string): Promise<string> {
  const client = await v2Stdio(bin, dir, {}, "modern", ["--tenant", id, ...args]);
  try {
    return (await client.callTool("create_document", { title: "secret plan", content: `the code word is ${secret}` })).structuredContent.id;
  } finally {
    await client.close();
  }
}

async function readBack(id: string, args: string[], doc: string): Promise<string> {
  const client = await v2Stdio(bin, dir, {}, "modern", ["--tenant", id, ...args]);
  try {
    return (await client.callTool("get_document", { id: doc })).structuredContent.content;
  } finally {
    await client.close();
  }
}

beforeAll(() => {
  ({ dir, bin } = binaryInEmptyDir());
  writeFileSync(join(dir, "master.key"), `${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}\n`);
  writeFileSync(join(dir, "enc.toml"), '[encryption]\nmaster_key_file = "master.key"\n');
});
afterAll(cleanupTempDirs);

describe("encryption at rest", () => {
  test("config check says whether encryption is on", () => {
    expect(mt("config", "check").stdout).toContain("Encryption at rest: off (no master key configured)");
    expect(mt("config", "check", ...withKey).stdout).toContain("Encryption at rest: on (master key from master.key)");
  });

  test("a new tenant's file holds no plaintext, cannot be opened without the key, and is served with it", async () => {
    const key = run(bin, ["tenant", "add", "vault", "--json", ...withKey], { cwd: dir }).json().api_key;
    expect(mt("tenant", "show", "vault", "--json", ...withKey).json().encrypted).toBe(true);
    const server = await startServe(bin, dir, withKey);
    const { body, headers } = modernRequest("tools/call", { name: "create_document", arguments: { title: "Quarterly numbers", content: "zanzibarflamingo earnings are up" } });
    const created = (await (await fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) })).json()) as any;
    expect(created.result.structuredContent.version).toBe(1);
    await server.stop();
    expect(fileBytes("vault")).not.toContain("zanzibarflamingo");
    expect(fileBytes("vault")).not.toContain("Quarterly numbers");
    expect(() => plainSqlite("vault")).toThrow();
    // without the master key the server refuses to open it, with a clear message
    const noKey = await startServe(bin, dir);
    const denied = (await (await fetch(noKey.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) })).json()) as any;
    await noKey.stop();
    expect(JSON.stringify(denied)).not.toContain("zanzibarflamingo");
    expect(await readBack("vault", withKey, created.result.structuredContent.id)).toBe("zanzibarflamingo earnings are up");
  });

  test("tenant encrypt converts an existing plaintext tenant; its data stays readable", async () => {
    mt("tenant", "add", "legacy");
    const doc = await storeSecret("legacy", [], "ottermarmalade");
    expect(plainSqlite("legacy")).toEqual({ n: 1 });
    expect(fileBytes("legacy")).toContain("ottermarmalade");
    const result = run(bin, ["tenant", "encrypt", "legacy", "--json", ...withKey], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.json().tenants).toEqual([{ tenant: "legacy", status: "encrypted", documents: 1 }]);
    expect(fileBytes("legacy")).not.toContain("ottermarmalade");
    expect(() => plainSqlite("legacy")).toThrow();
    expect(await readBack("legacy", withKey, doc)).toBe("the code word is ottermarmalade");
    // search still works on the re-built index
    const client = await v2Stdio(bin, dir, {}, "modern", ["--tenant", "legacy", ...withKey]);
    expect((await client.callTool("search_documents", { query: "ottermarmalade" })).structuredContent.count).toBe(1);
    await client.close();
    expect(run(bin, ["tenant", "encrypt", "legacy", "--json", ...withKey], { cwd: dir }).json().tenants[0].status).toBe("already_encrypted");
    expect(mt("tenant", "encrypt", "legacy").stderr).toContain("no master key");
  });

  test("rotate-master rewraps keys without touching files; the old key then no longer opens them", async () => {
    const before = readFileSync(join(dir, "data", "tenants", "vault.db"));
    writeFileSync(join(dir, "master.new"), `${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}\n`);
    const rotated = run(bin, ["encryption", "rotate-master", "--new-key-file", "master.new", "--json", ...withKey], { cwd: dir });
    expect(rotated.code).toBe(0);
    expect(rotated.json().rewrapped).toBe(2);
    expect(readFileSync(join(dir, "data", "tenants", "vault.db")).equals(before)).toBe(true);
    writeFileSync(join(dir, "enc-new.toml"), '[encryption]\nmaster_key_file = "master.new"\n');
    const list = run(bin, ["tenant", "show", "vault", "--json", "--config", "enc-new.toml"], { cwd: dir });
    expect(list.json().database.documents).toBe(1);
    const old = run(bin, ["tenant", "show", "vault", "--config", "enc.toml"], { cwd: dir });
    expect(old.code).toBe(1);
    expect(old.stderr).toContain("does not unwrap with this master key");
  });

  test("removing a tenant destroys its wrapped key and its file (crypto-shredding)", () => {
    expect(run(bin, ["tenant", "remove", "vault", "--yes", "--config", "enc-new.toml"], { cwd: dir }).code).toBe(0);
    const control = new SqliteDatabase(join(dir, "data", "control.db"), { readonly: true });
    const keys = control.query("SELECT id, wrapped_key FROM tenants").all() as { id: string; wrapped_key: string | null }[];
    control.close();
    expect(keys.map((k) => k.id)).not.toContain("vault");
    expect(keys.find((k) => k.id === "legacy")!.wrapped_key).toStartWith("v1.");
    expect(existsSync(join(dir, "data", "tenants", "vault.db"))).toBe(false);
  });
});
