/** The shape of a CLI command: metadata that loads nothing heavy, and a lazily imported handler. */
import type { Output } from "./output.ts";

export type OptionSpec = { type: "string" | "boolean"; short?: string; description: string; placeholder?: string };

export type CommandContext = {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  out: Output;
};

export type Handler = (ctx: CommandContext) => Promise<number | void>;

export type CommandSpec = {
  path: string[];
  summary: string;
  args?: { name: string; required: boolean }[];
  options?: Record<string, OptionSpec>;
  examples?: string[];
  handler: () => Promise<Handler>;
};

export const globalOptions: Record<string, OptionSpec> = {
  config: { type: "string", description: "Config file (else $MCP_MT_CONFIG, else ./mcp-mt.toml, else defaults)", placeholder: "PATH" },
  "data-dir": { type: "string", description: "Data directory (overrides data.dir)", placeholder: "DIR" },
  json: { type: "boolean", description: "Print exactly one JSON object on stdout" },
  help: { type: "boolean", short: "h", description: "Show help for the command" },
};
