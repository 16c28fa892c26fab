/**
 * The compiled binary as the durability and crash benchmarks (and the CI crash test) drive it: copied alone into
 * a fresh directory on the machine's disk, enterprise tenants with their limits raised out of the way, `serve`
 * on a free port, stateless 2026-07-28 `tools/call` over loopback HTTP.
 */
import { spawn, spawnSync, type Subprocess } from "bun";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";

export const builtBinary = join(import.meta.dir, "..", "dist", "mcp-mt");

/** Child environment: none of the caller's MCP_MT_ variables, plus `extra`. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("MCP_MT_")) env[k] = v;
  return { ...env, ...extra };
}

export type BenchDir = { dir: string; bin: string; mt(...args: string[]): string; addTenant(id: string): string };

/**
 * A fresh directory (under the system temp dir, which must be a real disk for fsync timings to mean anything)
 * with a copy of the binary and an mcp-mt.toml that lifts the enterprise plan's request limits and quotas, so
 * the benchmark measures writing, not throttling.
 */
export function benchDir(prefix: string, binary = builtBinary): BenchDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const bin = join(dir, "mcp-mt");
  copyFileSync(binary, bin);
  spawnSync(["chmod", "+x", bin]);
  const mt = (...args: string[]) => {
    const r = spawnSync([bin, ...args], { cwd: dir, env: childEnv() });
    if (r.exitCode !== 0) throw new Error(`mcp-mt ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.toString();
  };
  // Every numeric limit of the plan below 1e7 raised to 1e7 (timeouts left alone), as bench/run.ts does.
  const plans = (parseToml(mt("config", "example")) as { plans?: Record<string, Record<string, unknown>> }).plans;
  const raised = Object.entries(plans?.enterprise ?? {})
    .filter(([key, value]) => typeof value === "number" && value < 1e7 && !/timeout/.test(key))
    .map(([key]) => `${key} = 10000000`);
  writeFileSync(join(dir, "mcp-mt.toml"), `# Written by bench/binary-server.ts: limits raised so a benchmark measures writes, not throttling.\n[plans.enterprise]\n${raised.join("\n")}\n`);
  mt("config", "check");
  const addTenant = (id: string) => (JSON.parse(mt("tenant", "add", id, "--plan", "enterprise", "--json")) as { api_key: string }).api_key;
  return { dir, bin, mt, addTenant };
}

export type Server = { url: string; pid: number; proc: Subprocess; stop(): Promise<void>; kill9(): Promise<void> };

/** `serve --port 0` in the directory, resolved once it listens; stderr (the JSON log) goes to `logFile`. */
export async function startServer(dir: BenchDir, env: Record<string, string> = {}, logFile = "/dev/null"): Promise<Server> {
  const proc = spawn([dir.bin, "serve", "--port", "0"], {
    cwd: dir.dir,
    env: childEnv({ MCP_MT_METRICS_LISTEN: "", NODE_ENV: "production", ...env }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: Bun.file(logFile),
  });
  const reader = proc.stdout.getReader();
  let out = "";
  const deadline = Date.now() + 20_000;
  while (!/listening on (\S+)/.test(out)) {
    const { done, value } = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => ({ done: true, value: undefined }))]);
    if (done) {
      proc.kill("SIGKILL");
      throw new Error(`mcp-mt serve did not start: ${out}`);
    }
    out += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  // Keep draining stdout so the server never blocks on a full pipe.
  void proc.stdout.pipeTo(new WritableStream()).catch(() => undefined);
  return {
    url: /listening on (\S+)/.exec(out)![1]!,
    pid: proc.pid,
    proc,
    async stop() {
      proc.kill("SIGTERM");
      const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(15_000).then(() => false)]);
      if (!exited) {
        proc.kill("SIGKILL");
        await proc.exited;
      }
    },
    async kill9() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

const envelope = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };

/**
 * One tool call; resolves to its structured result, or throws with what went wrong (HTTP status, JSON-RPC
 * error, tool error, or the connection). Only a resolved call is an acknowledged one.
 */
export async function callTool(url: string, key: string, name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": name, authorization: `Bearer ${key}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: args, _meta: envelope } }),
    ...(signal ? { signal } : {}),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
  const json = JSON.parse(text) as { result?: { isError?: boolean; structuredContent?: Record<string, unknown>; content?: { text?: string }[] }; error?: { message?: string } };
  if (!json.result) throw new Error(`JSON-RPC error: ${json.error?.message ?? text.slice(0, 200)}`);
  if (json.result.isError) throw new Error(`tool error: ${json.result.content?.[0]?.text ?? ""}`);
  return json.result.structuredContent ?? {};
}
