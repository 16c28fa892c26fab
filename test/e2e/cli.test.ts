/** The operator's commands, driven through the compiled binary from an empty directory. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });

beforeAll(() => ({ dir, bin } = binaryInEmptyDir()));
afterAll(cleanupTempDirs);

/** A fingerprint of every file under data/, to prove a failed command changed nothing. */
function snapshot(): string {
  const data = join(dir, "data");
  if (!existsSync(data)) return "no data";
  const files = readdirSync(data, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
  return files.map((f) => `${f}:${createHash("sha256").update(readFileSync(f)).digest("hex")}`).join("\n");
}

describe("mcp-mt CLI (compiled binary, empty directory)", () => {
  test("version and help", () => {
    const v = mt("--version");
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^mcp-mt \d+\.\d+\.\d+ \(/);
    expect(mt("version", "--json").json().version).toMatch(/^\d+\.\d+\.\d+/);
    const help = mt("help");
    expect(help.code).toBe(0);
    for (const word of ["serve", "tenant add", "key revoke", "migrate", "config check"]) expect(help.stdout).toContain(word);
    const sub = mt("tenant", "add", "--help");
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain("Examples:");
    expect(sub.stdout).toContain("mcp-mt tenant add acme");
  });

  test("tenant add (twice), list, show", () => {
    const acme = mt("tenant", "add", "acme", "--name", "Acme Corp", "--json");
    expect(acme.code).toBe(0);
    const created = acme.json();
    expect(created.id).toBe("acme");
    expect(created.name).toBe("Acme Corp");
    expect(created.plan).toBe("free");
    expect(created.api_key).toMatch(/^mcpmt_[0-9a-z]{12}_/);
    expect(created.mcp_url).toBe("http://127.0.0.1:8787/mcp");
    expect(existsSync(join(dir, "data", "tenants", "acme.db"))).toBe(true);

    const beta = mt("tenant", "add", "beta", "--plan", "pro");
    expect(beta.code).toBe(0);
    expect(beta.stdout).toContain("API key (shown once");
    expect(beta.stdout).toContain("Authorization: Bearer mcpmt_");
    expect(beta.stdout).toContain("http://127.0.0.1:8787/mcp");

    const list = mt("tenant", "list", "--json").json();
    expect(list.tenants.map((t: { id: string }) => t.id)).toEqual(["acme", "beta"]);
    expect(list.tenants.map((t: { keys: number }) => t.keys)).toEqual([1, 1]);
    expect(list.tenants[1].plan).toBe("pro");

    const show = mt("tenant", "show", "acme", "--json").json();
    expect(show.database.documents).toBe(0);
    expect(show.api_keys).toHaveLength(1);
    expect(show.api_keys[0].id).toBe(created.key_id);
    // the plain key is never stored: neither the control plane nor any file holds it
    const stored = readdirSync(join(dir, "data"), { recursive: true })
      .map(String)
      .filter((f) => existsSync(join(dir, "data", f)) && !f.endsWith("tenants"))
      .map((f) => readFileSync(join(dir, "data", f)).toString("latin1"))
      .join("");
    expect(stored).not.toContain(created.api_key.slice(19, 50));
  });

  test("adding an existing tenant fails and changes nothing", () => {
    const before = snapshot();
    const again = mt("tenant", "add", "acme");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("tenant acme already exists");
    expect(snapshot()).toBe(before);
  });

  test("suspend, resume, set-plan", () => {
    expect(mt("tenant", "suspend", "acme", "--json").json().status).toBe("suspended");
    expect(mt("tenant", "show", "acme", "--json").json().status).toBe("suspended");
    expect(mt("tenant", "resume", "acme", "--json").json().status).toBe("active");
    expect(mt("tenant", "set-plan", "acme", "enterprise", "--json").json().plan).toBe("enterprise");
    const bad = mt("tenant", "set-plan", "acme", "platinum");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown plan "platinum"; plans: free, pro, enterprise');
  });

  test("key create, list, revoke", () => {
    const key = mt("key", "create", "acme", "--label", "ci", "--scopes", "documents:read", "--expires", "30d", "--json").json();
    expect(key.api_key).toMatch(/^mcpmt_/);
    expect(key.scopes).toEqual(["documents:read"]);
    expect(Date.parse(key.expires_at) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const listed = mt("key", "list", "acme", "--json").json().keys;
    expect(listed.map((k: { id: string }) => k.id)).toContain(key.id);
    expect(listed.every((k: Record<string, unknown>) => !("api_key" in k) && !("hash" in k))).toBe(true);
    const revoked = mt("key", "revoke", key.id, "--json").json();
    expect(revoked.state).toBe("revoked");
    expect(revoked.revoked_at).not.toBeNull();
    expect(mt("key", "list", "acme", "--json").json().keys.find((k: { id: string }) => k.id === key.id).state).toBe("revoked");
    const unknownScope = mt("key", "create", "acme", "--scopes", "admin");
    expect(unknownScope.code).toBe(2);
    expect(unknownScope.stderr).toContain('unknown scope "admin"');
    const noTenant = mt("key", "create", "nobody");
    expect(noTenant.code).toBe(1);
    expect(noTenant.stderr).toContain("tenant nobody does not exist");
    expect(mt("key", "revoke", "zzzzzzzzzzzz").stderr).toContain("key zzzzzzzzzzzz does not exist");
  });

  test("migrate --dry-run and migrate report per tenant", () => {
    const dry = mt("migrate", "--dry-run", "--json");
    expect(dry.code).toBe(0);
    const report = dry.json();
    expect(report.dry_run).toBe(true);
    expect(report.tenants).toEqual([
      { tenant: "acme", isolation: "file", status: "current", migrations: [] },
      { tenant: "beta", isolation: "file", status: "current", migrations: [] },
    ]);
    expect(mt("migrate").stdout).toMatch(/acme\s+file\s+current/);
  });

  test.each([
    ["../x", "is invalid"],
    ["A", "is invalid"],
    ["con", "reserved device name"],
    ["a".repeat(300), "300 characters long"],
  ])("bad tenant id %p is refused and nothing changes", (id, message) => {
    const before = snapshot();
    const result = mt("tenant", "add", id);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain("    at ");
    expect(snapshot()).toBe(before);
    expect(existsSync(join(dir, "x.db"))).toBe(false);
  });

  test("an empty tenant id is refused", () => {
    const result = mt("tenant", "add", "");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("tenant id is empty");
  });

  test("unknown commands and flags print a clear message and the usage", () => {
    const cmd = mt("frobnicate");
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain('unknown command "frobnicate"');
    expect(cmd.stderr).toContain("Usage: mcp-mt <command>");
    const flag = mt("tenant", "list", "--colour");
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--colour'");
    expect(flag.stderr).toContain("Usage:");
    const missing = mt("tenant", "show");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing argument <id>");
  });

  test("remove needs --yes, then deletes the file and the keys", () => {
    const before = snapshot();
    const refused = mt("tenant", "remove", "beta");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("add --yes to confirm");
    expect(snapshot()).toBe(before);
    const removed = mt("tenant", "remove", "beta", "--yes", "--json");
    expect(removed.code).toBe(0);
    expect(existsSync(join(dir, "data", "tenants", "beta.db"))).toBe(false);
    expect(mt("tenant", "list", "--json").json().tenants.map((t: { id: string }) => t.id)).toEqual(["acme"]);
    expect(mt("tenant", "show", "beta").stderr).toContain("tenant beta does not exist");
  });

  test("config check with defaults, a file, env overrides, and --data-dir", () => {
    const defaults = mt("config", "check", "--json").json();
    expect(defaults.valid).toBe(true);
    expect(defaults.source.kind).toBe("defaults");
    writeFileSync(join(dir, "mcp-mt.toml"), '[server]\nport = 9999\n[log]\nlevel = "debug"\n');
    const fromFile = mt("config", "check", "--json").json();
    expect(fromFile.source.path).toBe(join(dir, "mcp-mt.toml"));
    expect(fromFile.config.server.port).toBe(9999);
    const withEnv = run(bin, ["config", "check", "--json"], { cwd: dir, env: { MCP_MT_SERVER_PORT: "7777" } }).json();
    expect(withEnv.config.server.port).toBe(7777);
    expect(withEnv.env_overrides).toEqual(["MCP_MT_SERVER_PORT"]);
    // A data directory that does not exist is named, not silently created (a typo must not look like "no tenants").
    const missing = mt("tenant", "list", "--data-dir", "elsewhere", "--json");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no mcp-mt data in ${join(dir, "elsewhere")}`);
    expect(existsSync(join(dir, "elsewhere"))).toBe(false);
    expect(mt("tenant", "add", "other", "--data-dir", "elsewhere").code).toBe(0);
    expect(mt("tenant", "list", "--data-dir", "elsewhere", "--json").json().tenants.map((t: { id: string }) => t.id)).toEqual(["other"]);
    expect(existsSync(join(dir, "elsewhere", "control.db"))).toBe(true);
    const text = mt("config", "check");
    expect(text.stdout).toContain("Encryption at rest: off");
    expect(text.stdout).not.toMatch(/pepper = /);
  });

  test("bad config files fail with file, line and key, and leave data untouched", () => {
    const before = snapshot();
    writeFileSync(join(dir, "bad.toml"), "[server]\nport = \"eighty\"\n");
    const wrongType = mt("tenant", "add", "gamma", "--config", "bad.toml");
    expect(wrongType.code).toBe(1);
    expect(wrongType.stderr).toContain(`${join(dir, "bad.toml")}:2:1: server.port must be a number, not text`);
    writeFileSync(join(dir, "broken.toml"), "[server\nport = 1\n");
    const syntax = mt("config", "check", "--config", "broken.toml");
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toContain(`${join(dir, "broken.toml")}:1:`);
    expect(syntax.stderr).toContain("invalid TOML");
    const missing = mt("config", "check", "--config", "nope.toml");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cannot read config file ${join(dir, "nope.toml")}: ENOENT`);
    expect(snapshot()).toBe(before);
  });

  test("config example prints a documented example that config check accepts", () => {
    const example = mt("config", "example");
    expect(example.code).toBe(0);
    expect(example.stdout).toContain("[server]");
    expect(example.stdout).toContain("rate_limit_per_minute = 100");
    writeFileSync(join(dir, "example.toml"), example.stdout);
    expect(mt("config", "check", "--config", "example.toml").code).toBe(0);
  });
});
