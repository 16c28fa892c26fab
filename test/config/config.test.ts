import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { renderExample } from "../../src/config/example.ts";
import { loadConfig } from "../../src/config/load.ts";
import { configSchema } from "../../src/config/schema.ts";
import { AppError } from "../../src/errors.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const root = join(import.meta.dir, "..", "..");

function configError(toml: string | null, env: Record<string, string> = {}): string {
  const dir = tempDir();
  const path = join(dir, "mcp-mt.toml");
  if (toml !== null) writeFileSync(path, toml);
  try {
    loadConfig({ configPath: toml === null ? join(dir, "missing.toml") : path, env, cwd: dir });
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return (error as AppError).message.replaceAll(dir, "<dir>");
  }
  throw new Error("expected a config error");
}

describe("config", () => {
  test("config.example.toml is exactly the rendered example and parses to the defaults", () => {
    const text = readFileSync(join(root, "config.example.toml"), "utf8");
    expect(text).toBe(renderExample());
    const parsed = configSchema.parse(parse(text));
    expect(parsed).toEqual(configSchema.parse({}));
  });

  test("defaults apply with no file, relative data dir resolved against the working directory", () => {
    const dir = tempDir();
    const { config, source } = loadConfig({ env: {}, cwd: dir });
    expect(source.kind).toBe("defaults");
    expect(config.server.port).toBe(8787);
    expect(config.data.dir).toBe(join(dir, "data"));
    expect(config.plans.free!.rate_limit_per_minute).toBe(100);
    expect(config.plans.pro!.rate_limit_per_minute).toBe(1000);
    expect(config.plans.enterprise!.rate_limit_per_minute).toBe(10000);
  });

  test("./mcp-mt.toml is found in the working directory; MCP_MT_CONFIG and --config take precedence", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "mcp-mt.toml"), "[server]\nport = 1111\n");
    writeFileSync(join(dir, "env.toml"), "[server]\nport = 2222\n");
    writeFileSync(join(dir, "flag.toml"), "[server]\nport = 3333\n");
    expect(loadConfig({ env: {}, cwd: dir }).config.server.port).toBe(1111);
    expect(loadConfig({ env: { MCP_MT_CONFIG: "env.toml" }, cwd: dir }).config.server.port).toBe(2222);
    expect(loadConfig({ configPath: "flag.toml", env: { MCP_MT_CONFIG: "env.toml" }, cwd: dir }).config.server.port).toBe(3333);
  });

  test("env variables override single values with the right types", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "mcp-mt.toml"), '[server]\nport = 1111\nhost = "127.0.0.1"\n');
    const { config, envOverrides } = loadConfig({
      env: { MCP_MT_SERVER_PORT: "9000", MCP_MT_SERVER_ALLOWED_ORIGINS: "https://a.example, https://b.example", MCP_MT_PLANS_FREE_RATE_LIMIT_PER_MINUTE: "7" },
      cwd: dir,
    });
    expect(config.server.port).toBe(9000);
    expect(config.server.allowed_origins).toEqual(["https://a.example", "https://b.example"]);
    expect(config.plans.free!.rate_limit_per_minute).toBe(7);
    expect(envOverrides.sort()).toEqual(["MCP_MT_PLANS_FREE_RATE_LIMIT_PER_MINUTE", "MCP_MT_SERVER_ALLOWED_ORIGINS", "MCP_MT_SERVER_PORT"]);
  });

  test("a partial plan keeps the built-in values; a new plan starts from free", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "mcp-mt.toml"), "[plans.pro]\nrate_limit_per_minute = 5000\n[plans.team]\nrate_limit_per_minute = 300\n");
    const { config } = loadConfig({ env: {}, cwd: dir });
    expect(config.plans.pro).toEqual({ ...configSchema.parse({}).plans.pro!, rate_limit_per_minute: 5000 });
    expect(config.plans.team!.rate_limit_per_minute).toBe(300);
    expect(config.plans.team!.max_documents).toBe(config.plans.free!.max_documents);
  });

  test.each([
    ["TOML syntax error with line and column", "[server]\nport = = 3\n", "<dir>/mcp-mt.toml:2:"],
    ["unknown key names key, line and column", '[server]\nhost = "x"\nprot = 80\n', "<dir>/mcp-mt.toml:3:1: server.prot: unknown key"],
    ["unknown section", "[servers]\nport = 1\n", "<dir>/mcp-mt.toml:1:1: servers: unknown key"],
    ["wrong type names expected type", '[server]\nport = "eighty"\n', "<dir>/mcp-mt.toml:2:1: server.port must be a number, not text"],
    ["out of range", "[server]\nport = 70000\n", "server.port must be at most 65535"],
    ["bad enum", '[log]\nlevel = "loud"\n', '<dir>/mcp-mt.toml:2:1: log.level must be one of "debug", "info", "warn", "error"'],
    ["bad plan name", "[plans.Free]\nrate_limit_per_minute = 1\n", "plans.Free: plan names are lower-case slugs"],
    ["negative limit", "[plans.free]\nrate_limit_per_minute = -1\n", "<dir>/mcp-mt.toml:2:1: plans.free.rate_limit_per_minute must be greater than 0"],
    ["a secret in the TOML is refused", '[auth]\npepper = "hunter2hunter2hunter2"\n', "<dir>/mcp-mt.toml:2:1: auth.pepper: unknown key"],
  ])("%s", (_name, toml, expected) => {
    expect(configError(toml)).toContain(expected);
  });

  test("a missing config file named explicitly is an error", () => {
    expect(configError(null)).toBe("cannot read config file <dir>/missing.toml: ENOENT");
  });

  test("bad env values and unknown MCP_MT_ variables name the variable", () => {
    expect(configError("", { MCP_MT_SERVER_PORT: "http" })).toContain("MCP_MT_SERVER_PORT: server.port must be a number");
    expect(configError("", { MCP_MT_SERVER_PROT: "1" })).toContain("environment variable MCP_MT_SERVER_PROT is not a config key");
  });

  test("every key of every section is described", () => {
    const example = renderExample();
    expect(example).not.toContain("# undefined");
    const keys = example.split("\n").filter((line) => /^[a-z_]+ = /.test(line));
    const described = example.split("\n").filter((line, i, all) => /^[a-z_]+ = /.test(line) && all[i - 1]!.startsWith("# "));
    expect(described.length).toBe(keys.length);
    expect(keys.length).toBeGreaterThan(15);
  });
});
