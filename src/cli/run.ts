/** The CLI router: finds the command, parses its flags strictly, runs it, maps errors to exit codes. */
import { parseArgs } from "node:util";
import { AppError } from "../errors.ts";
import { version } from "../version.ts";
import { commands } from "./commands.ts";
import { createOutput } from "./output.ts";
import { globalOptions, type CommandSpec, type OptionSpec } from "./spec.ts";

/** Exit codes: 0 success, 1 the action failed, 2 the command line was wrong. */
export const exitCodes = { ok: 0, failed: 1, usage: 2 } as const;

export async function runCli(argv: string[]): Promise<number> {
  if (argv.length === 0) {
    process.stdout.write(mainHelp());
    return exitCodes.ok;
  }
  if (argv[0] === "--version" || argv[0] === "-v") argv = ["version", ...argv.slice(1)];
  if (argv[0] === "--help" || argv[0] === "-h") argv = ["help", ...argv.slice(1)];
  if (argv[0] === "help") return help(argv.slice(1));

  const words = leadingWords(argv);
  const spec = match(words);
  if (!spec) {
    const group = commands.filter((c) => c.path[0] === words[0] && c.path.length > 1);
    if (group.length && (words.length === 1 || argv.includes("--help") || argv.includes("-h"))) {
      process.stdout.write(groupHelp(words[0]!));
      return words.length === 1 && !argv.includes("--help") && !argv.includes("-h") ? exitCodes.usage : exitCodes.ok;
    }
    const what = group.length ? `unknown command "${words.slice(0, 2).join(" ")}"` : `unknown command "${words[0] ?? argv[0]}"`;
    process.stderr.write(`mcp-mt: ${what}\n\n${group.length ? groupHelp(words[0]!) : mainHelp()}`);
    return exitCodes.usage;
  }
  const rest = [...argv];
  for (const word of spec.path) rest.splice(rest.indexOf(word), 1);
  return execute(spec, rest);
}

/** Words that may name a command: leading non-flag tokens, skipping global flags and their values. */
function leadingWords(argv: string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token.startsWith("-")) {
      const name = token.replace(/^--?/, "").split("=")[0]!;
      if (globalOptions[name]?.type === "string" && !token.includes("=")) i++;
      continue;
    }
    words.push(token);
  }
  return words;
}

/** The command with the longest path matching the leading words (`backup verify` before `backup`). */
function match(words: string[]): CommandSpec | undefined {
  return [...commands].sort((a, b) => b.path.length - a.path.length).find((c) => c.path.every((word, i) => words[i] === word));
}

async function execute(spec: CommandSpec, args: string[]): Promise<number> {
  const options = { ...globalOptions, ...spec.options };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: toParseArgs(options), allowPositionals: true, strict: true });
  } catch (error) {
    return usageError(spec, (error as Error).message.replace(/\. To specify a positional.*$/s, ""));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(commandHelp(spec));
    return exitCodes.ok;
  }
  const expected = spec.args ?? [];
  const missing = expected.filter((arg, i) => arg.required && positionals[i] === undefined);
  if (missing.length) return usageError(spec, `missing argument <${missing[0]!.name}>`);
  if (positionals.length > expected.length) return usageError(spec, `unexpected argument "${positionals[expected.length]}"`);

  const out = createOutput(Boolean(values.json));
  try {
    const handler = await spec.handler();
    return (await handler({ values: values as Record<string, string | boolean | undefined>, positionals, out })) ?? exitCodes.ok;
  } catch (error) {
    const message = error instanceof AppError ? error.message : `unexpected failure: ${(error as Error)?.message ?? String(error)}`;
    const code = error instanceof AppError ? error.code : "internal";
    if (out.json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
    process.stderr.write(`mcp-mt ${spec.path.join(" ")}: ${message}\n`);
    return error instanceof AppError && (error.code === "invalid_input" || error.code === "invalid_tenant_id") ? exitCodes.usage : exitCodes.failed;
  }
}

function toParseArgs(options: Record<string, OptionSpec>) {
  return Object.fromEntries(Object.entries(options).map(([name, o]) => [name, o.short ? { type: o.type, short: o.short } : { type: o.type }]));
}

function usageError(spec: CommandSpec, message: string): number {
  process.stderr.write(`mcp-mt ${spec.path.join(" ")}: ${message}\n\n${commandHelp(spec)}`);
  return exitCodes.usage;
}

function usageLine(spec: CommandSpec): string {
  const args = (spec.args ?? []).map((a) => (a.required ? `<${a.name}>` : `[${a.name}]`)).join(" ");
  return `mcp-mt ${spec.path.join(" ")}${args ? ` ${args}` : ""}${spec.options ? " [flags]" : ""}`;
}

function flagLines(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([name, o]) => [`${o.short ? `-${o.short}, ` : ""}--${name}${o.placeholder ? ` ${o.placeholder}` : ""}`, o.description]);
  const width = Math.max(...rows.map(([flag]) => flag!.length));
  return rows.map(([flag, text]) => `  ${flag!.padEnd(width)}  ${text}`);
}

function commandHelp(spec: CommandSpec): string {
  const lines = [`${spec.summary}.`, "", "Usage:", `  ${usageLine(spec)}`];
  if (spec.options) lines.push("", "Flags:", ...flagLines(spec.options));
  lines.push("", "Global flags:", ...flagLines(globalOptions));
  if (spec.examples?.length) lines.push("", "Examples:", ...spec.examples.map((e) => `  ${e}`));
  return `${lines.join("\n")}\n`;
}

function groupHelp(group: string): string {
  const specs = commands.filter((c) => c.path[0] === group);
  const width = Math.max(...specs.map((s) => s.path.join(" ").length));
  return `Usage: mcp-mt ${group} <command> [flags]\n\nCommands:\n${specs.map((s) => `  ${s.path.join(" ").padEnd(width)}  ${s.summary}`).join("\n")}\n\nRun "mcp-mt ${group} <command> --help" for details.\n`;
}

function mainHelp(): string {
  const width = Math.max(...commands.map((s) => s.path.join(" ").length));
  return [
    `mcp-mt ${version}: a multi-tenant MCP server with a private document store per tenant.`,
    "",
    "Usage: mcp-mt <command> [flags]",
    "",
    "Commands:",
    ...commands.map((s) => `  ${s.path.join(" ").padEnd(width)}  ${s.summary}`),
    `  ${"help [command]".padEnd(width)}  Show help`,
    "",
    "Global flags:",
    ...flagLines(globalOptions),
    "",
    "Get started:",
    "  mcp-mt tenant add acme     # prints the tenant's API key once",
    "  mcp-mt serve               # serves MCP at http://127.0.0.1:8787/mcp",
    "",
  ].join("\n");
}

function help(words: string[]): number {
  if (words.length === 0) {
    process.stdout.write(mainHelp());
    return exitCodes.ok;
  }
  const spec = match(words);
  if (spec) process.stdout.write(commandHelp(spec));
  else if (commands.some((c) => c.path[0] === words[0])) process.stdout.write(groupHelp(words[0]!));
  else {
    process.stderr.write(`mcp-mt: no help for unknown command "${words.join(" ")}"\n\n${mainHelp()}`);
    return exitCodes.usage;
  }
  return exitCodes.ok;
}
