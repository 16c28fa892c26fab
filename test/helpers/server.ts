/** Starts the compiled binary's `serve` in a directory and waits until it listens. */
import type { Subprocess } from "bun";
import { cleanEnv } from "./binary.ts";

export type ServerProcess = { url: string; origin: string; port: number; proc: Subprocess<"ignore", "pipe", "pipe">; stderr(): string; stop(signal?: NodeJS.Signals): Promise<number> };

export async function startServe(bin: string, cwd: string, args: string[] = [], env: Record<string, string> = {}): Promise<ServerProcess> {
  // The metrics listener on a free port: servers of parallel test runs must not race for 127.0.0.1:9464.
  const proc = Bun.spawn([bin, "serve", "--port", "0", ...args], { cwd, env: cleanEnv({ MCP_MT_METRICS_LISTEN: "127.0.0.1:0", ...env }), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let err = "";
  void (async () => {
    for await (const chunk of proc.stderr) err += new TextDecoder().decode(chunk);
  })();
  const reader = proc.stdout.getReader();
  let out = "";
  const deadline = Date.now() + 15_000;
  while (!/listening on (\S+)/.test(out)) {
    if (Date.now() > deadline) throw new Error(`server did not start: ${out}\n${err}`);
    const { done, value } = await reader.read();
    if (done) throw new Error(`server exited: ${out}\n${err}`);
    out += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void proc.stdout.pipeTo(new WritableStream()).catch(() => undefined);
  const url = /listening on (\S+)/.exec(out)![1]!;
  const parsed = new URL(url);
  return {
    url,
    origin: parsed.origin,
    port: Number(parsed.port),
    proc,
    stderr: () => err,
    async stop(signal = "SIGTERM") {
      proc.kill(signal);
      return proc.exited;
    },
  };
}

/** The JSON-RPC envelope and headers of a stateless 2026-07-28 request. */
export function modernRequest(method: string, params: Record<string, unknown> = {}, id: number | string = 1) {
  const body = {
    jsonrpc: "2.0",
    id,
    method,
    params: { ...params, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } },
  };
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": method,
  };
  const name = (params.name ?? params.uri) as string | undefined;
  if (name) headers["mcp-name"] = name;
  return { body, headers };
}
