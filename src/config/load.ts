/** Finds, reads and validates the configuration: TOML file, then MCP_MT_<SECTION>_<KEY> env overrides. */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";
import { AppError } from "../errors.ts";
import { configSchema, type Config } from "./schema.ts";
import { leafPaths } from "./walk.ts";
import { customError, sentence } from "../zod-messages.ts";

export type ConfigSource = { kind: "file"; path: string; via: "flag" | "env" | "cwd" } | { kind: "defaults" };

/** Secrets come only from the environment or files named in the config, never from the TOML itself. */
export type Secrets = { pepper?: string; apiKey?: string; masterKey?: string; metricsToken?: string; adminToken?: string; /** `storage copy`'s target URL (MCP_MT_STORAGE_COPY_TO): kept off the command line, where others can read it. */ storageCopyTo?: string };

export type LoadedConfig = { config: Config; source: ConfigSource; secrets: Secrets; envOverrides: string[] };

/** Env variables that are not config keys but are ours. */
const nonKeyEnv = new Set(["MCP_MT_CONFIG", "MCP_MT_API_KEY", "MCP_MT_AUTH_PEPPER", "MCP_MT_ENCRYPTION_MASTER_KEY", "MCP_MT_METRICS_TOKEN", "MCP_MT_ADMIN_TOKEN", "MCP_MT_STORAGE_COPY_TO"]);

export type LoadOptions = { configPath?: string; dataDir?: string; env?: Record<string, string | undefined>; cwd?: string };

/** Loads the effective configuration. Throws AppError("config_invalid") naming file, key, line and column. */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const source = locate(options.configPath, env, cwd);
  let raw: Record<string, unknown> = {};
  let text = "";
  const label = source.kind === "file" ? source.path : "built-in defaults";
  if (source.kind === "file") {
    try {
      text = readFileSync(source.path, "utf8");
    } catch (error) {
      throw new AppError("config_invalid", `cannot read config file ${source.path}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`);
    }
    try {
      raw = parseToml(text) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof TomlError) {
        const first = error.message.split("\n")[0];
        throw new AppError("config_invalid", `${source.path}:${error.line}:${error.column}: invalid TOML: ${first}`);
      }
      throw error;
    }
  }
  const jwtSection = (raw.auth as { jwt?: { secret?: unknown } } | undefined)?.jwt;
  if (jwtSection?.secret !== undefined && jwtSection.secret !== "") {
    const where = locateKey(text, ["auth", "jwt", "secret"]);
    throw new AppError("config_invalid", `${label}${where ? `:${where}` : ""}: auth.jwt.secret: secrets are not read from the config file; set MCP_MT_AUTH_JWT_SECRET or auth.jwt.secret_file`);
  }
  const storageUrl = (raw.storage as { url?: unknown } | undefined)?.url;
  if (typeof storageUrl === "string" && urlHasPassword(storageUrl)) {
    const where = locateKey(text, ["storage", "url"]);
    throw new AppError("config_invalid", `${label}${where ? `:${where}` : ""}: storage.url: a password is not read from the config file; set the whole URL in MCP_MT_STORAGE_URL (or the password in PGPASSWORD)`);
  }
  const envOverrides = applyEnv(raw, env);
  if (options.dataDir) setPath(raw, ["data", "dir"], options.dataDir);
  const parsed = configSchema.safeParse(raw, { error: customError });
  if (!parsed.success) throw new AppError("config_invalid", describeIssues(parsed.error, label, text, envOverrides));
  const config = parsed.data;
  // Relative paths are relative to the working directory, as for every other CLI on the host.
  config.data.dir = resolve(cwd, config.data.dir);
  return { config, source, secrets: { pepper: env.MCP_MT_AUTH_PEPPER || undefined, apiKey: env.MCP_MT_API_KEY || undefined, masterKey: env.MCP_MT_ENCRYPTION_MASTER_KEY || undefined, metricsToken: env.MCP_MT_METRICS_TOKEN || undefined, adminToken: env.MCP_MT_ADMIN_TOKEN || undefined, storageCopyTo: env.MCP_MT_STORAGE_COPY_TO || undefined }, envOverrides };
}

function locate(flag: string | undefined, env: Record<string, string | undefined>, cwd: string): ConfigSource {
  if (flag) return { kind: "file", path: resolve(cwd, flag), via: "flag" };
  if (env.MCP_MT_CONFIG) return { kind: "file", path: resolve(cwd, env.MCP_MT_CONFIG), via: "env" };
  const local = resolve(cwd, "mcp-mt.toml");
  if (existsSync(local)) return { kind: "file", path: local, via: "cwd" };
  return { kind: "defaults" };
}

const envName = (path: string[]) => `MCP_MT_${path.join("_").toUpperCase().replaceAll("-", "_")}`;

/** Applies MCP_MT_<SECTION>_<KEY> variables onto the raw table; returns the variables used. */
function applyEnv(raw: Record<string, unknown>, env: Record<string, string | undefined>): string[] {
  const byName = new Map<string, { path: string[]; sample: unknown }>();
  for (const leaf of leafPaths(configSchema.parse({}))) byName.set(envName(leaf.path), leaf);
  const used: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("MCP_MT_") || value === undefined || nonKeyEnv.has(name)) continue;
    const leaf = byName.get(name);
    if (!leaf) throw new AppError("config_invalid", `environment variable ${name} is not a config key (known: ${[...byName.keys()].slice(0, 6).join(", ")}, …; see \`mcp-mt config example\`)`);
    setPath(raw, leaf.path, coerce(value, leaf.sample));
    used.push(name);
  }
  return used;
}

function coerce(value: string, sample: unknown): unknown {
  if (typeof sample === "number") return value.trim() !== "" && !Number.isNaN(Number(value)) ? Number(value) : value;
  if (typeof sample === "boolean") return value === "true" ? true : value === "false" ? false : value;
  if (Array.isArray(sample)) return value === "" ? [] : value.split(",").map((part) => part.trim());
  return value;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

function describeIssues(error: z.ZodError, label: string, text: string, envOverrides: string[]): string {
  const lines = error.issues.map((issue) => {
    const keys = issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    return keys
      .map((path) => {
        const key = path.map(String).join(".") || "(root)";
        const fromEnv = envOverrides.includes(envName(path.map(String)));
        const where = fromEnv ? `${envName(path.map(String))}` : locateKey(text, path.map(String));
        const what =
          issue.code === "unrecognized_keys" ? "unknown key" : issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
        const said = issue.code === "unrecognized_keys" ? `${key}: ${what}` : sentence({ path, message: what }, "the configuration");
        return `${label}${where ? `:${where}` : ""}: ${said === what ? `${key}: ${what}` : said}`;
      })
      .join("\n");
  });
  return `invalid configuration\n${lines.join("\n")}`;
}

/** Best-effort line:column of a key in TOML text, tracking [table] headers. */
export function locateKey(text: string, path: string[]): string | undefined {
  if (!text || path.length === 0) return undefined;
  const rows = text.split("\n");
  let table: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const header = /^\s*\[\s*([^\]]+?)\s*\]/.exec(row);
    if (header) {
      table = header[1]!.split(".").map((s) => s.trim().replace(/^"|"$/g, ""));
      if (table.join(".") === path.join(".")) return `${i + 1}:${row.indexOf("[") + 1}`;
      continue;
    }
    const assign = /^(\s*)([A-Za-z0-9_"-]+)\s*=/.exec(row);
    if (!assign) continue;
    const full = [...table, assign[2]!.replace(/^"|"$/g, "")];
    if (full.join(".") === path.join(".")) return `${i + 1}:${assign[1]!.length + 1}`;
  }
  return undefined;
}

function urlHasPassword(url: string): boolean {
  try {
    return new URL(url).password !== "";
  } catch {
    return false;
  }
}
