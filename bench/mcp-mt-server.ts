/**
 * The compiled binary in a temporary directory, for the benchmarks that drive it (noisy-neighbour, cold-tenants):
 * run CLI commands in that directory, start and stop `serve`, read the server process's RSS and open file
 * descriptors from /proc, and probe /healthz while something else runs.
 */
import { spawn, spawnSync, type Subprocess } from "bun";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";

export const root = join(import.meta.dir, "..");

/** The environment without any MCP_MT_* variable of the caller's shell. */
export const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MCP_MT_"))) as Record<string, string>;

export function binaryDir(prefix: string): { dir: string; bin: string; version: string; mt: (...args: string[]) => string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const bin = join(dir, "mcp-mt");
  copyFileSync(join(root, "dist", "mcp-mt"), bin);
  spawnSync(["chmod", "+x", bin]);
  const mt = (...args: string[]) => {
    const r = spawnSync([bin, ...args], { cwd: dir, env: cleanEnv() });
    if (r.exitCode !== 0) throw new Error(`mcp-mt ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.toString();
  };
  return { dir, bin, version: mt("--version").trim(), mt };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export type Serve = { proc: Subprocess; url: string; port: number; metricsUrl: string; stop(): Promise<void> };

/** `mcp-mt serve --port 0` in dir (stderr to a log file there), metrics on their own loopback port. */
export async function serve(dir: string, env: Record<string, string> = {}, logName = "serve.log"): Promise<Serve> {
  const metricsPort = await freePort();
  const proc = spawn([join(dir, "mcp-mt"), "serve", "--port", "0"], {
    cwd: dir,
    env: { ...cleanEnv(), MCP_MT_METRICS_LISTEN: `127.0.0.1:${metricsPort}`, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: Bun.file(join(dir, logName)),
  });
  const reader = proc.stdout.getReader();
  let text = "";
  const deadline = Date.now() + 60_000;
  while (!/listening on (\S+)/.test(text)) {
    if (Date.now() > deadline) throw new Error(`serve did not start: ${text}`);
    const { done, value } = await reader.read();
    if (done) throw new Error(`serve exited: ${text} ${readFileSync(join(dir, logName), "utf8").slice(-2000)}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void proc.stdout.pipeTo(new WritableStream()).catch(() => undefined);
  const url = /listening on (\S+)/.exec(text)![1]!;
  return {
    proc,
    url,
    port: Number(new URL(url).port),
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    async stop() {
      proc.kill("SIGTERM");
      const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(15_000).then(() => false)]);
      if (!exited) {
        proc.kill("SIGKILL");
        await proc.exited;
      }
    },
  };
}

const tick = Number(spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** CPU ms of one thread (or process) from its stat file. */
function statMs(path: string): number {
  try {
    const stat = readFileSync(path, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / tick;
  } catch {
    return 0;
  }
}

export type ThreadCpu = { main: number; store: number; gc: number; jit: number; total: number };

/**
 * CPU ms of the process by kind of thread: the main thread; the store workers (Bun names Worker threads
 * "Worker"); the garbage collector's helpers; the JIT compilers (a one-off cost that lingers for seconds on a
 * busy machine, so it is reported apart); and the whole process (threads that exited included).
 */
export function threadCpu(pid: number): ThreadCpu {
  const out: ThreadCpu = { main: 0, store: 0, gc: 0, jit: 0, total: statMs(`/proc/${pid}/stat`) };
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const ms = statMs(`/proc/${pid}/task/${tid}/stat`);
    let name = "";
    try {
      name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
    } catch {
      continue;
    }
    if (tid === String(pid)) out.main += ms;
    else if (name === "Worker") out.store += ms;
    else if (/JIT|JSCWarmUp/.test(name)) out.jit += ms;
    else if (/scavenger|HeapHelper|Heap/.test(name)) out.gc += ms;
  }
  return out;
}

export function rssMiB(pid: number): number {
  try {
    return Number(/^VmRSS:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

export const load1 = () => loadavg()[0]!;
export const cpus = () => availableParallelism();

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Probes /healthz one request at a time every `everyMs` until stopped; latencies in ms (a failure counts as its time, and is counted). */
export function healthProbe(baseUrl: string, everyMs = 20): { stop(): Promise<{ latencies: number[]; failures: number }> } {
  const origin = new URL(baseUrl).origin;
  const latencies: number[] = [];
  let failures = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const r = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(5_000) });
        await r.text();
        if (r.status !== 200) failures++;
      } catch {
        failures++;
      }
      latencies.push(performance.now() - t0);
      await Bun.sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { latencies: latencies.sort((a, b) => a - b), failures };
    },
  };
}

/** Samples a process's RSS every `everyMs` until stopped: first, max and last, in MiB. */
export function rssSampler(pid: number, everyMs = 200): { stop(): { first: number; max: number; last: number } } {
  const first = rssMiB(pid);
  let max = first;
  const timer = setInterval(() => (max = Math.max(max, rssMiB(pid))), everyMs);
  return {
    stop() {
      clearInterval(timer);
      const last = rssMiB(pid);
      return { first, max: Math.max(max, last), last };
    },
  };
}

export function machineLine(): string {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  return `${cpus()} CPUs (${model}), Bun ${Bun.version}`;
}

/** Replaces (or appends) the text between `<!-- name:begin` and `<!-- name:end -->` in bench/RESULTS.md. */
export async function writeSection(name: string, section: string): Promise<void> {
  const path = join(import.meta.dir, "RESULTS.md");
  const current = readFileSync(path, "utf8");
  const marked = new RegExp(`<!-- ${name}:begin[\\s\\S]*?<!-- ${name}:end -->`);
  await Bun.write(path, marked.test(current) ? current.replace(marked, () => section) : `${current.trimEnd()}\n\n${section}\n`);
}
