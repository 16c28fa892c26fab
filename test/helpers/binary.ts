/** Runs the compiled binary the way an operator would: copied alone into an empty directory. */
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pgDatabase } from "./postgres.ts";
import { tempDir } from "./tmp.ts";

export const root = join(import.meta.dir, "..", "..");
export const builtBinary = join(root, "dist", "mcp-mt");

/** Builds dist/mcp-mt if it is missing (the test script builds it first; this covers `bun test` alone). */
export function ensureBinary(): string {
  if (!existsSync(builtBinary)) {
    const build = Bun.spawnSync(["bun", join(root, "scripts/build.ts")], { stdout: "inherit", stderr: "inherit" });
    if (build.exitCode !== 0) throw new Error("building dist/mcp-mt failed");
  }
  return builtBinary;
}

/**
 * The storage the e2e suites run against: libSQL files (default), or PostgreSQL with one isolation strategy
 * when MCP_MT_TEST_STORAGE is row, schema or database (the test command runs the client and isolation
 * suites once per strategy that way).
 */
export const testStorage = (process.env.MCP_MT_TEST_STORAGE ?? "") as "" | "row" | "schema" | "database";

/**
 * A fresh empty directory holding only a copy of the binary (and, on PostgreSQL, the mcp-mt.toml that points
 * it at a database of its own: the URL has no password, the test server trusts loopback).
 */
export function binaryInEmptyDir(): { dir: string; bin: string; database?: string } {
  const dir = tempDir("mcp-mt-e2e-");
  const bin = join(dir, "mcp-mt");
  copyFileSync(ensureBinary(), bin);
  Bun.spawnSync(["chmod", "+x", bin]);
  if (testStorage) {
    const database = pgDatabase(`e2e_${testStorage}`);
    const url = new URL(database.url);
    url.password = "";
    writeFileSync(join(dir, "mcp-mt.toml"), `[storage]\nurl = "${url}"\nisolation = "${testStorage}"\n`);
    return { dir, bin, database: database.name };
  }
  return { dir, bin };
}

export type RunResult = { code: number; stdout: string; stderr: string; json<T = any>(): T };

/** Environment for child processes: no inherited MCP_MT_ variables. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("MCP_MT_")) env[k] = v;
  return { ...env, ...extra };
}

export function run(bin: string, args: string[], options: { cwd: string; env?: Record<string, string>; stdin?: string }): RunResult {
  const result = Bun.spawnSync([bin, ...args], { cwd: options.cwd, env: cleanEnv(options.env), stdin: options.stdin ? Buffer.from(options.stdin) : "ignore" });
  const stdout = result.stdout.toString();
  return { code: result.exitCode ?? -1, stdout, stderr: result.stderr.toString(), json: () => JSON.parse(stdout) };
}
