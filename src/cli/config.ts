/** `mcp-mt config check|example`. */
import { stringify } from "smol-toml";
import { renderExample } from "../config/example.ts";
import { configFrom } from "./context.ts";
import type { Handler } from "./spec.ts";

export const configCheck: Handler = async (ctx) => {
  const loaded = configFrom(ctx);
  const source = loaded.source.kind === "file" ? `${loaded.source.path} (from ${loaded.source.via === "flag" ? "--config" : loaded.source.via === "env" ? "MCP_MT_CONFIG" : "the working directory"})` : "built-in defaults (no config file)";
  const pepper = loaded.secrets.pepper ? "from MCP_MT_AUTH_PEPPER" : loaded.config.auth.pepper_file ? `from ${loaded.config.auth.pepper_file}` : `${loaded.config.data.dir}/pepper (generated on first start)`;
  const human = [
    `Configuration is valid.`,
    `Source: ${source}`,
    loaded.envOverrides.length ? `Environment overrides: ${loaded.envOverrides.join(", ")}` : "Environment overrides: none",
    `Key-hash pepper: ${pepper}`,
    "Encryption at rest: off (no master key configured)",
    "",
    stringify(loaded.config),
  ].join("\n");
  ctx.out.result(human, { valid: true, source: loaded.source, env_overrides: loaded.envOverrides, secrets: { pepper: pepper }, config: loaded.config });
};

export const configExample: Handler = async (ctx) => {
  ctx.out.result(renderExample(), { example: renderExample() });
};
