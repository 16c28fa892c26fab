/**
 * What durability costs: create_document through the compiled binary under `tenancy.synchronous` NORMAL and FULL,
 * each with and without group commit (`tenancy.group_commit`), at several concurrencies; and the disk syncs
 * (fsync + fdatasync, counted with strace attached to the running server) that 50 commits cause in each mode.
 *   1. a fresh directory on the machine's disk with dist/mcp-mt and raised enterprise limits (bench/binary-server.ts);
 *   2. per mode and repeat: a fresh tenant, `serve` with MCP_MT_TENANCY_SYNCHRONOUS / MCP_MT_TENANCY_GROUP_COMMIT,
 *      the sync count, then one bench/load.ts process per concurrency (closed loop, warm-up discarded);
 *   3. medians over the repeats; the cost of FULL at c=16 decides the default (under 20 % with group commit: FULL).
 * Writes a section of bench/RESULTS.md between the `durability-bench` markers.
 *
 *   bun bench/durability.ts [--duration 5] [--warmup 1] [--concurrency 1,16,64] [--repeat 3] [--commits 50] [--no-write]
 */
import { spawn, spawnSync } from "bun";
import { readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchDir, callTool, startServer, type Server } from "./binary-server.ts";
import type { LoadResult } from "./load.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    concurrency: { type: "string", default: "1,16,64" },
    repeat: { type: "string", default: "3" },
    commits: { type: "string", default: "50" },
    "no-write": { type: "boolean", default: false },
  },
});
const levels = values.concurrency.split(",").map(Number);
const repeats = Number(values.repeat);
const commits = Number(values.commits);
const say = (line: string) => process.stderr.write(`${line}\n`);

type Mode = { synchronous: "NORMAL" | "FULL"; groupCommit: boolean };
const modes: Mode[] = [
  { synchronous: "NORMAL", groupCommit: false },
  { synchronous: "NORMAL", groupCommit: true },
  { synchronous: "FULL", groupCommit: false },
  { synchronous: "FULL", groupCommit: true },
];
const label = (m: Mode) => `${m.synchronous}, group commit ${m.groupCommit ? "on" : "off"}`;
type Syncs = { tenant: number; control: number; other: number };
/** Names of the files counted as "other" (neither a tenant file nor the control plane). */
const otherFiles = new Set<string>();
type ModeResult = { mode: Mode; cells: LoadResult[][]; sequential: Syncs[]; concurrent: Syncs[] };

/** Disk syncs the server makes while `work` runs, by file: strace attached to every thread of the process. */
async function countSyncs(server: Server, work: () => Promise<void>, out: string): Promise<Syncs> {
  const strace = spawn(["strace", "-f", "-y", "-e", "trace=fsync,fdatasync,sync_file_range,msync", "-o", out, "-p", String(server.pid)], { stdout: "ignore", stderr: "pipe" });
  // strace reports each thread it attached on stderr: wait for the first, then let it reach the others.
  const reader = strace.stderr.getReader();
  for (let text = ""; !text.includes("attached"); ) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`strace could not attach: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void strace.stderr.pipeTo(new WritableStream()).catch(() => undefined);
  await Bun.sleep(300);
  await work();
  await Bun.sleep(300);
  strace.kill("SIGINT");
  await strace.exited;
  const counts: Syncs = { tenant: 0, control: 0, other: 0 };
  for (const line of readFileSync(out, "utf8").split("\n")) {
    const call = /(fsync|fdatasync|sync_file_range|msync)\(\d+<([^>]*)>/.exec(line);
    if (!call) continue;
    if (call[2]!.includes("/tenants/")) counts.tenant++;
    else if (call[2]!.includes("control.db")) counts.control++;
    else {
      counts.other++;
      otherFiles.add(call[2]!.replace(/^.*\//, ""));
    }
  }
  rmSync(out, { force: true });
  return counts;
}

async function load(url: string, key: string, concurrency: number): Promise<LoadResult> {
  const cmd = [process.execPath, join(import.meta.dir, "load.ts"), "--url", url, "--scenario", "create_document", "--concurrency", String(concurrency), "--duration", values.duration, "--warmup", values.warmup];
  const proc = spawn(cmd, { env: { ...process.env, BENCH_API_KEY: key }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`load generator failed: ${err}`);
  return JSON.parse(out.trim().split("\n").at(-1)!) as LoadResult;
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const int = (v: number) => Math.round(v).toLocaleString("en-US");

const started = Date.now();
const bench = benchDir("mcp-mt-durability-");
const hasStrace = spawnSync(["sh", "-c", "command -v strace"]).exitCode === 0;
const results: ModeResult[] = modes.map((mode) => ({ mode, cells: levels.map(() => []), sequential: [], concurrent: [] }));
let version = "";
try {
  version = bench.mt("--version").trim();
  say(`work directory: ${bench.dir}; ${version}${hasStrace ? "" : "; strace not found: no sync counts (apt-get install strace)"}`);
  for (let round = 0; round < repeats; round++) {
    // Alternate the order of the modes between repeats, so a drift of the machine does not favour one.
    const order = round % 2 ? [...results].reverse() : results;
    for (const result of order) {
      const { mode } = result;
      const key = bench.addTenant(`t-${mode.synchronous.toLowerCase()}-${mode.groupCommit ? "gc" : "single"}-${round}`);
      const server = await startServer(bench, { MCP_MT_TENANCY_SYNCHRONOUS: mode.synchronous, MCP_MT_TENANCY_GROUP_COMMIT: String(mode.groupCommit) });
      try {
        let n = 0;
        const create = () => callTool(server.url, key, "create_document", { title: `durability ${n}`, content: `commit number ${n++} of the sync count` });
        await create(); // opens the tenant file: its open is not counted
        if (hasStrace) {
          result.sequential.push(await countSyncs(server, async () => void (await Array.from({ length: commits }).reduce<Promise<unknown>>((p) => p.then(create), Promise.resolve())), join(bench.dir, "strace.out")));
          result.concurrent.push(await countSyncs(server, async () => void (await Promise.all(Array.from({ length: 16 }, async (_, w) => { for (let i = w; i < commits; i += 16) await create(); }))), join(bench.dir, "strace.out")));
        }
        for (const [i, c] of levels.entries()) {
          const cell = await load(server.url, key, c);
          result.cells[i]!.push(cell);
          say(`[${round + 1}/${repeats}] ${label(mode)} c=${c}: ${int(cell.rps)} req/s, p50 ${ms(cell.p50)} ms, p99 ${ms(cell.p99)} ms, errors ${cell.errors}${cell.firstError ? ` (${cell.firstError.slice(0, 160)})` : ""}`);
        }
        if (hasStrace) say(`[${round + 1}/${repeats}] ${label(mode)}: syncs for ${commits} commits at c=1 ${JSON.stringify(result.sequential.at(-1))}, at c=16 ${JSON.stringify(result.concurrent.at(-1))}`);
      } finally {
        await server.stop();
      }
    }
  }
} finally {
  rmSync(bench.dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- report
const at = (r: ModeResult, c: number) => {
  const cells = r.cells[levels.indexOf(c)] ?? [];
  return { rps: median(cells.map((x) => x.rps)), p50: median(cells.map((x) => x.p50)), p99: median(cells.map((x) => x.p99)), errors: cells.reduce((n, x) => n + x.errors, 0), runs: cells.map((x) => x.rps) };
};
const find = (synchronous: Mode["synchronous"], groupCommit: boolean) => results.find((r) => r.mode.synchronous === synchronous && r.mode.groupCommit === groupCommit)!;
const syncText = (list: Syncs[]) => {
  if (!list.length) return "—";
  const other = median(list.map((s) => s.other));
  return `${median(list.map((s) => s.tenant + s.control + s.other))} (tenant file ${median(list.map((s) => s.tenant))}, control plane ${median(list.map((s) => s.control))}${other ? `, other ${other}` : ""})`;
};
const rows = results.flatMap((r) => levels.map((c) => {
  const x = at(r, c);
  return `| ${r.mode.synchronous} | ${r.mode.groupCommit ? "on" : "off"} | ${c} | ${int(x.rps)} | ${ms(x.p50)} | ${ms(x.p99)} | ${x.errors} | ${x.runs.map(int).join(" / ")} |`;
}));
const syncRows = results.map((r) => `| ${r.mode.synchronous} | ${r.mode.groupCommit ? "on" : "off"} | ${syncText(r.sequential)} | ${syncText(r.concurrent)} |`);
const cost = (subject: ModeResult, base: ModeResult, c: number) => 1 - at(subject, c).rps / at(base, c).rps;
const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
const decisive = levels.includes(16) ? cost(find("FULL", true), find("NORMAL", true), 16) : NaN;
const versusToday = levels.includes(16) ? cost(find("FULL", true), find("NORMAL", false), 16) : NaN;
const fullAlone = levels.includes(16) ? cost(find("FULL", false), find("NORMAL", false), 16) : NaN;
const verdict = Number.isNaN(decisive)
  ? "not decided (c=16 not measured)"
  : `FULL with group commit costs **${pct(decisive)}** of NORMAL-with-group-commit throughput at c=16 (${pct(versusToday)} against NORMAL without group commit, the previous default); FULL without group commit costs ${pct(fullAlone)}. ` +
    (decisive < 0.2 ? "Under 20 %: **FULL is the default**." : "Not under 20 %: NORMAL stays the default.");

const section = [
  "<!-- durability-bench:begin (written by bun bench/durability.ts) -->",
  "## Durability: synchronous NORMAL vs FULL, with and without group commit (issue 10)",
  "",
  `Generated by \`${["bun bench/durability.ts", ...Bun.argv.slice(2)].join(" ")}\` on ${new Date().toISOString()} (wall time ${Math.round((Date.now() - started) / 1000)} s) with \`${version}\`,`,
  `on ext4 on the VM's virtual disk (/tmp). create_document through the compiled binary over loopback HTTP (stateless 2026-07-28 \`tools/call\`, bench/load.ts: closed loop,`,
  `${values.warmup} s warm-up discarded, ${values.duration} s measured), one tenant per mode and repeat, ${repeats} repeats in alternating order; medians of the repeats.`,
  `Load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs at the end (the machine is shared: single runs vary by up to ~25 %).`,
  "",
  "| synchronous | group commit | concurrency | req/s | p50 ms | p99 ms | errors | req/s of each repeat |",
  "|---|---|--:|--:|--:|--:|--:|---|",
  ...rows,
  "",
  verdict,
  "",
  `Disk syncs (fsync, fdatasync) the server made for ${commits} create_document commits, counted by \`strace -f -y\` attached to the running server (median of the repeats;`,
  "the control plane's are the usage meter's flush, once a second, under the same `synchronous` setting):",
  "",
  `| synchronous | group commit | ${commits} commits one at a time (c=1) | ${commits} commits from 16 concurrent clients |`,
  "|---|---|--:|--:|",
  ...syncRows,
  ...(otherFiles.size ? ["", `Other files synced: ${[...otherFiles].map((f) => `\`${f}\``).join(", ")}.`] : []),
  "<!-- durability-bench:end -->",
].join("\n");
console.log(section);
if (!values["no-write"]) {
  const path = join(import.meta.dir, "RESULTS.md");
  const current = readFileSync(path, "utf8");
  const marked = /<!-- durability-bench:begin[\s\S]*?<!-- durability-bench:end -->/;
  await Bun.write(path, marked.test(current) ? current.replace(marked, section) : `${current.trimEnd()}\n\n${section}\n`);
  say("wrote bench/RESULTS.md");
}
