/**
 * Server CPU per request, A/B: two (or more) mcp-mt binaries and the bare SDK echo server take turns, round
 * after round, on the same data (one tenant, --docs documents), each cell get_document (echo for the SDK) at
 * --concurrency with bench/load.ts in its own process. For each cell: req/s, p99, and the server's CPU µs per
 * request split into the main thread (HTTP, auth, admission, MCP) and every other thread (store workers, GC).
 * CPU time per request is far steadier than req/s on a shared machine; alternating the binaries within each
 * round cancels slow drifts of the machine's load.
 *
 *   bun bench/cpu-ab.ts --bin before=/tmp/mcp-mt-before --bin after=dist/mcp-mt [--rounds 3] [--duration 5]
 *                       [--warmup 2] [--concurrency 16] [--docs 2000] [--no-sdk] [--scenario get_document]
 */
import { spawn, spawnSync, type Subprocess } from "bun";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { LoadResult, Scenario } from "./load.ts";
import { threadCpu as cpu, type ThreadCpu as Cpu } from "./mcp-mt-server.ts";
import { seed } from "./seed.ts";

const benchDir = import.meta.dir;
const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    bin: { type: "string", multiple: true, default: [] },
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "8" },
    concurrency: { type: "string", default: "16" },
    docs: { type: "string", default: "2000" },
    scenario: { type: "string", default: "get_document" },
    "no-sdk": { type: "boolean", default: false },
  },
});
const say = (line: string) => process.stderr.write(`${line}\n`);
async function start(cmd: string[], cwd: string, env: Record<string, string>): Promise<{ proc: Subprocess; url: string }> {
  const proc = spawn(cmd, { cwd, env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: Bun.file(join(cwd, "server.log")) });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const match = /listening on (http:\/\/\S+)/.exec(text);
    if (match) {
      reader.releaseLock();
      void (proc.stdout as ReadableStream).pipeTo(new WritableStream()).catch(() => undefined);
      return { proc, url: match[1]! };
    }
    const { done, value } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  proc.kill();
  throw new Error(`server did not start: ${text}`);
}

async function stop(proc: Subprocess): Promise<void> {
  proc.kill("SIGTERM");
  if (!(await Promise.race([proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]))) proc.kill("SIGKILL");
  await proc.exited;
}

type Cell = { name: string; round: number; rps: number; p50: number; p99: number; errors: number; mainUs: number; storeUs: number; gcUs: number; jitUs: number; totalUs: number };

async function measure(name: string, round: number, url: string, pid: number, scenario: Scenario, key: string | undefined, manifest: string): Promise<Cell> {
  const cmd = [process.execPath, join(benchDir, "load.ts"), "--url", url, "--scenario", scenario, "--concurrency", values.concurrency, "--duration", values.duration, "--warmup", values.warmup, "--markers"];
  if (scenario !== "echo") cmd.push("--manifest", manifest);
  const load = spawn(cmd, { env: { ...process.env, ...(key ? { BENCH_API_KEY: key } : {}) }, stdout: "pipe", stderr: "pipe" });
  let a: Cpu | undefined;
  let b: Cpu | undefined;
  let err = "";
  const readErr = (async () => {
    for await (const chunk of load.stderr) {
      err += new TextDecoder().decode(chunk);
      if (!a && err.includes("MEASURE_START")) a = cpu(pid);
      if (!b && err.includes("MEASURE_END")) b = cpu(pid);
    }
  })();
  const [out] = await Promise.all([new Response(load.stdout).text(), load.exited, readErr]);
  const r = JSON.parse(out.trim().split("\n").at(-1)!) as LoadResult;
  const per = (x: number) => (x * 1000) / r.requests;
  return { name, round, rps: r.rps, p50: r.p50, p99: r.p99, errors: r.errors, mainUs: per(b!.main - a!.main), storeUs: per(b!.store - a!.store), gcUs: per(b!.gc - a!.gc), jitUs: per(b!.jit - a!.jit), totalUs: per(b!.total - a!.total) };
}

const bins = (values.bin as string[]).map((spec) => {
  const [name, path] = spec.includes("=") ? (spec.split("=", 2) as [string, string]) : [spec, spec];
  return { name, path: resolve(path) };
});
if (bins.length === 0) bins.push({ name: "dist", path: resolve(benchDir, "..", "dist", "mcp-mt") });
const dir = mkdtempSync(join(tmpdir(), "mcp-mt-cpu-ab-"));
const cells: Cell[] = [];
const loads: number[] = [];
try {
  const first = join(dir, "mcp-mt");
  copyFileSync(bins[0]!.path, first);
  spawnSync(["chmod", "+x", first]);
  writeFileSync(join(dir, "mcp-mt.toml"), "[plans.enterprise]\nrate_limit_per_minute = 10000000\nmax_concurrency = 10000000\nmonthly_tool_calls = 10000000\ndiscovery_per_minute = 10000000\ncpu_ms_per_minute = 10000000\n");
  const added = spawnSync([first, "tenant", "add", "bench", "--plan", "enterprise", "--json"], { cwd: dir });
  if (added.exitCode !== 0) throw new Error(`tenant add failed: ${added.stderr}`);
  const key = (JSON.parse(added.stdout.toString()) as { api_key: string }).api_key;
  const manifest = await seed(join(dir, "data", "tenants", "bench.db"), { count: Number(values.docs) });
  const manifestPath = join(dir, "manifest.json");
  writeFileSync(manifestPath, JSON.stringify(manifest));
  const scenario = values.scenario as Scenario;
  for (let round = 1; round <= Number(values.rounds); round++) {
    loads.push(loadavg()[0]!);
    for (const bin of bins) {
      const { proc, url } = await start([bin.path, "serve", "--port", "0"], dir, {});
      try {
        const cell = await measure(bin.name, round, url, proc.pid, scenario, key, manifestPath);
        cells.push(cell);
        say(`round ${round} ${bin.name}: ${cell.rps.toFixed(0)} req/s p99 ${cell.p99.toFixed(2)} ms, CPU µs/req main ${cell.mainUs.toFixed(0)} store ${cell.storeUs.toFixed(0)} gc ${cell.gcUs.toFixed(0)} jit ${cell.jitUs.toFixed(0)} total ${cell.totalUs.toFixed(0)}, errors ${cell.errors}`);
      } finally {
        await stop(proc);
      }
    }
    if (!values["no-sdk"]) {
      const { proc, url } = await start([process.execPath, join(benchDir, "baseline-sdk.ts"), "--schema", "inline"], dir, { NODE_ENV: "production" });
      try {
        const cell = await measure("sdk-echo", round, url, proc.pid, "echo", undefined, manifestPath);
        cells.push(cell);
        say(`round ${round} sdk-echo: ${cell.rps.toFixed(0)} req/s p99 ${cell.p99.toFixed(2)} ms, CPU µs/req main ${cell.mainUs.toFixed(0)} total ${cell.totalUs.toFixed(0)}`);
      } finally {
        await stop(proc);
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const names = [...new Set(cells.map((c) => c.name))];
const sdk = cells.filter((c) => c.name === "sdk-echo");
console.log(`\n${values.scenario}@${values.concurrency}, ${values.rounds} rounds × ${values.duration} s, load average (1 min) at round starts: ${loads.map((l) => l.toFixed(2)).join(" / ")}\n`);
// Medians, and the lowest per-request CPU of any round: contention only ever adds CPU time (cache misses,
// migrations), so the minimum is the best estimate of the intrinsic cost on a shared machine.
const min = (xs: number[]) => Math.min(...xs);
console.log("| server | req/s | p99 ms | CPU µs/req main thread (median / min) | store workers | GC threads | JIT | all threads, JIT excluded (median / min) | req/s ÷ SDK echo | p99 ÷ SDK echo |");
console.log("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
for (const name of names) {
  const mine = cells.filter((c) => c.name === name);
  // Ratios per round (same machine state), then the median.
  const rr = sdk.length && name !== "sdk-echo" ? mine.map((c) => c.rps / sdk.find((s) => s.round === c.round)!.rps) : [];
  const pr = sdk.length && name !== "sdk-echo" ? mine.map((c) => c.p99 / sdk.find((s) => s.round === c.round)!.p99) : [];
  const noJit = mine.map((c) => c.totalUs - c.jitUs);
  const f = (x: number) => x.toFixed(0);
  console.log(
    `| ${name} | ${f(median(mine.map((c) => c.rps)))} | ${median(mine.map((c) => c.p99)).toFixed(2)} | ${f(median(mine.map((c) => c.mainUs)))} / ${f(min(mine.map((c) => c.mainUs)))} | ${f(median(mine.map((c) => c.storeUs)))} | ${f(median(mine.map((c) => c.gcUs)))} | ${f(median(mine.map((c) => c.jitUs)))} | ${f(median(noJit))} / ${f(min(noJit))} | ${rr.length ? median(rr).toFixed(2) : ""} | ${pr.length ? median(pr).toFixed(2) : ""} |`,
  );
}
