/** The deployment files as data (YAML documents, Dockerfile stages) and `mcp-mt config check` on the built binary, for the deploy tests. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv, ensureBinary, root } from "./binary.ts";
import { tempDir } from "./tmp.ts";

export const read = (path: string) => readFileSync(join(root, path), "utf8");
export const yamlDocs = (path: string): any[] => {
  const parsed = Bun.YAML.parse(read(path));
  return Array.isArray(parsed) ? parsed : [parsed];
};

export type Run = { code: number; stdout: string; stderr: string };
export function runBin(args: string[], env: Record<string, string> = {}, cwd = tempDir("mcp-mt-deploy-")): Run {
  const result = Bun.spawnSync([ensureBinary(), ...args], { cwd, env: cleanEnv(env), stdin: "ignore" });
  return { code: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** `mcp-mt config check --json` in an empty directory: the effective configuration, or the failure. */
export function configCheck(env: Record<string, string> = {}, args: string[] = []): { run: Run; json: any } {
  const run = runBin(["config", "check", "--json", ...args], env);
  let json: any = null;
  try {
    json = JSON.parse(run.stdout);
  } catch {
    json = null;
  }
  return { run, json };
}

export type Instruction = { op: string; args: string; line: number };
export type Stage = { from: string; name?: string; instructions: Instruction[] };

/** Instructions (continuations joined, comments dropped) grouped by stage. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, " ");
      i++;
      if (!/^\s*#/.test(lines[i]!)) line += lines[i]!.trim();
    }
    const match = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(line);
    if (!match) throw new Error(`Dockerfile line ${start + 1} does not parse: ${line}`);
    const op = match[1]!.toUpperCase();
    const args = match[2]!.trim();
    if (op === "FROM") {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`FROM on line ${start + 1} does not parse: ${args}`);
      stages.push({ from: from[1]!, name: from[2], instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`${op} before the first FROM`);
      stages.at(-1)!.instructions.push({ op, args, line: start + 1 });
    }
  }
  return stages;
}

/** ENV k=v pairs (the key=value form; values without spaces). */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.instructions.filter((i) => i.op === "ENV")) {
    for (const pair of args.split(/\s+/)) {
      const eq = pair.indexOf("=");
      if (eq <= 0) throw new Error(`ENV ${args}: use the KEY=value form`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, "$1");
    }
  }
  return env;
}

export const dockerfile = () => parseDockerfile(read("deploy/docker/Dockerfile"));
export const runtimeStage = () => dockerfile().at(-1)!;
export const buildStage = () => dockerfile()[0]!;
