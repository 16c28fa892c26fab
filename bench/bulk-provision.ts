/**
 * Bulk provisioning benchmark: N tenants with keys through `mcp-mt tenant add --from` (files only, no server)
 * and through a running server's admin API (the same command while `serve` runs), against the one-process-
 * per-tenant baseline (`tenant add <id>`, measured on a sample and extrapolated). Every created key is then
 * checked to be listed. Usage: bun bench/bulk-provision.ts [--count 10000] [--baseline-sample 20]
 * Prints a markdown table for bench/RESULTS.md.
 */
import { parseArgs } from "node:util";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const { values } = parseArgs({ options: { count: { type: "string", default: "10000" }, "baseline-sample": { type: "string", default: "20" } } });
const count = Number(values.count);
const sample = Number(values["baseline-sample"]);
const bin = join(import.meta.dir, "..", "dist", "mcp-mt");
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MCP_MT_"))) as Record<string, string>;

function csv(prefix: string): string {
  return ["id,plan,name", ...Array.from({ length: count }, (_, i) => `${prefix}${i},${i % 10 === 0 ? "pro" : "free"},Tenant ${i}`)].join("\n") + "\n";
}

function timed(args: string[], cwd: string): number {
  const start = performance.now();
  const result = Bun.spawnSync([bin, ...args], { cwd, env, stdout: "pipe", stderr: "pipe" });
  const seconds = (performance.now() - start) / 1000;
  if (result.exitCode !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr.toString()}`);
  const out = result.stdout.toString();
  if (args.includes("--from") && out.trim().split("\n").length !== count + 1) throw new Error(`expected ${count} keys, got ${out.trim().split("\n").length - 1}`);
  return seconds;
}

const rows: string[] = [];
const dir = mkdtempSync(join(tmpdir(), "mcp-mt-bulk-"));
try {
  writeFileSync(join(dir, "a.csv"), csv("a"));
  writeFileSync(join(dir, "b.csv"), csv("b"));
  const files = timed(["tenant", "add", "--from", "a.csv", "--format", "csv", "--data-dir", "d1"], dir);
  rows.push(`| \`tenant add --from\` (no server) | ${count} | ${files.toFixed(1)} | ${((files / count) * 1000).toFixed(2)} |`);

  const server = Bun.spawn([bin, "serve", "--port", "0", "--data-dir", "d2"], { cwd: dir, env, stdout: "pipe", stderr: "ignore" });
  const reader = server.stdout.getReader();
  for (let text = ""; !text.includes("listening on"); ) text += new TextDecoder().decode((await reader.read()).value);
  try {
    const api = timed(["tenant", "add", "--from", "b.csv", "--format", "csv", "--data-dir", "d2"], dir);
    rows.push(`| \`tenant add --from\` through the running server's admin API | ${count} | ${api.toFixed(1)} | ${((api / count) * 1000).toFixed(2)} |`);
  } finally {
    server.kill("SIGTERM");
    await server.exited;
  }

  let baseline = 0;
  for (let i = 0; i < sample; i++) baseline += timed(["tenant", "add", `c${i}`, "--data-dir", "d3"], dir);
  rows.push(`| \`tenant add <id>\`, one process each (${sample} measured, extrapolated) | ${count} | ${((baseline / sample) * count).toFixed(0)} | ${((baseline / sample) * 1000).toFixed(1)} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(["| method | tenants | seconds | ms per tenant |", "|---|--:|--:|--:|", ...rows].join("\n"));
