/**
 * Commands that need no data directory never create one; commands that need an existing one say so instead
 * of creating an empty one. Each runs in an empty directory, with the default data dir ./data.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

// [command line, expected exit code, text the output must contain]
const commands: [string[], number, string][] = [
  [["backup", "verify", "some-backup"], 2, "is not an mcp-mt backup"],
  [["config", "check"], 0, "Configuration is valid"],
  [["config", "example"], 0, "[server]"],
  [["version"], 0, "mcp-mt"],
  [["help", "tenant", "add"], 0, "--from"],
  [["tenant", "list"], 1, "no mcp-mt data in"],
  [["tenant", "show", "acme"], 1, "no mcp-mt data in"],
  [["tenant", "suspend", "acme"], 1, "no mcp-mt data in"],
  [["tenant", "remove", "acme", "--yes"], 1, "no mcp-mt data in"],
  [["tenant", "set-plan", "acme", "pro"], 1, "no mcp-mt data in"],
  [["tenant", "set-limit", "acme", "--rate-limit", "5"], 1, "no mcp-mt data in"],
  [["tenant", "encrypt", "--all"], 1, "no mcp-mt data in"],
  [["key", "create", "acme"], 1, "no mcp-mt data in"],
  [["key", "list", "acme"], 1, "no mcp-mt data in"],
  [["key", "revoke", "abcdefabcdef"], 1, "no mcp-mt data in"],
  [["key", "rotate", "abcdefabcdef"], 1, "no mcp-mt data in"],
  [["usage"], 1, "no mcp-mt data in"],
  [["audit", "show"], 1, "no mcp-mt data in"],
  [["audit", "verify"], 1, "no mcp-mt data in"],
  [["audit", "export"], 1, "no mcp-mt data in"],
  [["migrate", "--dry-run"], 1, "no mcp-mt data in"],
  [["migrate"], 1, "no mcp-mt data in"],
  [["backup"], 1, "no mcp-mt data in"],
  [["pepper", "reset", "--yes"], 1, "no mcp-mt data in"],
  [["token", "issue", "acme"], 1, "no mcp-mt data in"],
  [["stdio", "--tenant", "acme"], 1, "no mcp-mt data in"],
  [["restore", "no-such-backup"], 2, "is not an mcp-mt backup"],
];

describe("no command creates a data directory it does not need", () => {
  test.each(commands)("mcp-mt %p", (args, code, says) => {
    const { dir, bin } = binaryInEmptyDir();
    const result = run(bin, args, { cwd: dir });
    expect(result.stdout + result.stderr).toContain(says);
    expect(result.code).toBe(code);
    expect(readdirSync(dir).sort()).toEqual(["mcp-mt"]);
  });

  test("backup verify of a real backup, from another directory, creates nothing there", () => {
    const { dir, bin } = binaryInEmptyDir();
    expect(run(bin, ["tenant", "add", "acme"], { cwd: dir }).code).toBe(0);
    const backup = run(bin, ["backup", "--out", "backups", "--json"], { cwd: dir }).json().dir;
    const elsewhere = join(dir, "elsewhere");
    mkdirSync(elsewhere);
    const verified = run(bin, ["backup", "verify", backup], { cwd: elsewhere });
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain("2 files intact");
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(existsSync(join(elsewhere, "data"))).toBe(false);
  });
});
