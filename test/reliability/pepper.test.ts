/**
 * The API-key pepper is not in an ordinary backup: restoring onto a new machine, or starting with another
 * pepper, is refused with what to do instead of silently invalidating every key; `backup --include-secrets`
 * carries it for disaster recovery; `pepper reset` is the repair when it is lost for good.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, cpSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, cleanEnv, run } from "../helpers/binary.ts";
import { v2Stdio } from "../helpers/clients.ts";
import { startServe } from "../helpers/server.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

let old: string;
let bin: string;
let key: string;
let plain: string;
let withSecrets: string;

/** Whether `key` opens a session in `cwd` and sees acme's document. */
async function keyWorks(cwd: string, apiKey: string): Promise<boolean> {
  try {
    const client = await v2Stdio(bin, cwd, { MCP_MT_API_KEY: apiKey }, "modern");
    try {
      const listed = await client.callTool("list_documents", {});
      return listed.structuredContent?.documents?.[0]?.title === "from the old machine";
    } finally {
      await client.close();
    }
  } catch {
    return false;
  }
}

/** A fresh machine: an empty directory with only the binary. */
function newMachine(): string {
  const dir = tempDir("mcp-mt-newhost-");
  copyFileSync(bin, join(dir, "mcp-mt"));
  Bun.spawnSync(["chmod", "+x", join(dir, "mcp-mt")]);
  return dir;
}

beforeAll(async () => {
  ({ dir: old, bin } = binaryInEmptyDir());
  key = run(bin, ["tenant", "add", "acme", "--json"], { cwd: old }).json().api_key;
  const client = await v2Stdio(bin, old, { MCP_MT_API_KEY: key }, "modern");
  await client.callTool("create_document", { title: "from the old machine", content: "x" });
  await client.close();
  plain = run(bin, ["backup", "--out", "backups", "--json"], { cwd: old }).json().dir;
  const secret = run(bin, ["backup", "--out", "backups-dr", "--include-secrets"], { cwd: old });
  expect(secret.code).toBe(0);
  expect(secret.stdout).toContain("CONTAINS THE API-KEY PEPPER (secrets/pepper)");
  withSecrets = /Backup written to (\S+)/.exec(secret.stdout)![1]!;
});
afterAll(cleanupTempDirs);

describe("pepper fingerprint", () => {
  test("the manifest records the pepper's fingerprint, never the pepper; --include-secrets says where it is", () => {
    const pepper = readFileSync(join(old, "data", "pepper"), "utf8").trim();
    const manifest = readFileSync(join(plain, "manifest.json"), "utf8");
    expect(JSON.parse(manifest).pepper_fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest).not.toContain(pepper);
    expect(JSON.parse(manifest).secrets).toBeUndefined();
    expect(JSON.parse(readFileSync(join(withSecrets, "manifest.json"), "utf8")).secrets).toEqual({ pepper: "secrets/pepper" });
    expect(readFileSync(join(withSecrets, "secrets", "pepper"), "utf8").trim()).toBe(pepper);
    expect(run(bin, ["backup", "verify", withSecrets], { cwd: old }).stdout).toContain("It contains the API-key pepper");
  });

  test("restore onto a new machine without the pepper: refused with what to do, nothing restored", () => {
    const host = newMachine();
    const result = run(join(host, "mcp-mt"), ["restore", plain], { cwd: host });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("is not the one the API keys in backup");
    expect(result.stderr).toContain("Put the original pepper in place");
    expect(result.stderr).toContain("--include-secrets");
    expect(existsSync(join(host, "data", "tenants", "acme.db"))).toBe(false);
  });

  test("then with the original pepper put in place, the same restore works and the old key works", async () => {
    const host = newMachine();
    expect(run(join(host, "mcp-mt"), ["restore", plain], { cwd: host }).code).toBe(1);
    copyFileSync(join(old, "data", "pepper"), join(host, "data", "pepper"));
    const result = run(join(host, "mcp-mt"), ["restore", plain], { cwd: host });
    expect(result.code).toBe(0);
    expect(await keyWorks(host, key)).toBe(true);
  });

  test("a backup made with --include-secrets restores onto a new machine, pepper included, and the old key works", async () => {
    const host = newMachine();
    const result = run(join(host, "mcp-mt"), ["restore", withSecrets], { cwd: host });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("pepper was installed");
    expect(await keyWorks(host, key)).toBe(true);
  });

  test("a pepper from the environment is never replaced by a backup's: refused, naming the variable", () => {
    const host = newMachine();
    const result = run(join(host, "mcp-mt"), ["restore", withSecrets], { cwd: host, env: { MCP_MT_AUTH_PEPPER: "another-pepper-0123456789" } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Set MCP_MT_AUTH_PEPPER to that file's content");
  });

  test("serve with another pepper is refused at start with what to do; pepper reset is the repair when it is lost", async () => {
    const host = newMachine();
    cpSync(join(old, "data"), join(host, "data"), { recursive: true });
    rmSync(join(host, "data", "pepper"));
    const serve = Bun.spawnSync([join(host, "mcp-mt"), "serve", "--port", "0"], { cwd: host, env: cleanEnv(), timeout: 20_000 });
    expect(serve.exitCode).toBe(1);
    const said = serve.stderr.toString();
    expect(said).toContain("every API key would be refused");
    expect(said).toContain("mcp-mt pepper reset --yes");
    expect(run(join(host, "mcp-mt"), ["tenant", "list"], { cwd: host }).code).toBe(1);

    const reset = run(join(host, "mcp-mt"), ["pepper", "reset", "--yes", "--json"], { cwd: host });
    expect(reset.code).toBe(0);
    expect(reset.json()).toMatchObject({ reset: true, revoked_keys: 1 });
    const server = await startServe(join(host, "mcp-mt"), host);
    await server.stop();
    expect(await keyWorks(host, key)).toBe(false);
    const fresh = run(join(host, "mcp-mt"), ["key", "create", "acme", "--json"], { cwd: host }).json().api_key;
    expect(await keyWorks(host, fresh)).toBe(true);
  });
});
