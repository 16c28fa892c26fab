/**
 * Noisy neighbour (issue 9): a victim tenant's get_document at c=4 through the compiled binary, quiet and then
 * while each attack row runs at the attacker plan's full allowance (free plan; rows without a key use no key).
 *   - the victim (pro plan; its own rate/discovery/CPU limits raised with `tenant set-limit` so a closed loop at
 *     c=4 is never throttled: we measure interference, not the victim's own plan) holds 500 documents;
 *   - every attack row uses its own free-plan tenant and runs in its own process (bench/attacks.ts) from its own
 *     loopback address (the server counts a closed connection for up to idle_timeout + 5 s);
 *   - the victim load is bench/load.ts in another process (127.0.0.1); /healthz is probed from this process
 *     every 20 ms, and the server's RSS and open fds are read from /proc.
 * Then the search rows (a)-(c) once more with MCP_MT_TENANCY_WORKERS=1 (one store worker: the stall hand-off).
 * Writes the `noisy-neighbour` section of bench/RESULTS.md.
 *
 *   bun bench/noisy-neighbour.ts [--duration 6] [--warmup 1] [--rows a,b,...] [--no-write]
 */
import { spawn } from "bun";
import { copyFileSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { LoadResult } from "./load.ts";
import { binaryDir, cpus, fdCount, healthProbe, load1, machineLine, percentile, rssSampler, serve, writeSection, type Serve } from "./mcp-mt-server.ts";
import { documentGenerator, rng } from "./text.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    duration: { type: "string", default: "6" },
    warmup: { type: "string", default: "1" },
    rows: { type: "string", default: "a,b,c,d,e,f,g,h,i,j" },
    "one-worker-rows": { type: "string", default: "a,b,c" },
    "no-write": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    /** Extra environment for every `serve` measured, e.g. MCP_MT_TENANCY_WORKER_NICE=5 (comma-separated K=V). */
    "server-env": { type: "string", default: "" },
  },
});
const durationS = Number(values.duration);
const warmupS = Number(values.warmup);
const say = (line: string) => process.stderr.write(`${line}\n`);
const started = performance.now();

const rowsSpec: Record<string, { tenant?: string; what: string }> = {
  a: { tenant: "atk-a", what: "one 64 KiB document of `a a a …`, then `search_documents(\"a\", limit 1)` in a loop (c=4)" },
  b: { tenant: "atk-b", what: "200 documents of 250 KB, query of 16 two-letter prefixes `ab* cd* … fe*` (limit 20) in a loop (c=4); first a 26 single-letter prefix query" },
  c: { tenant: "atk-c", what: "4 concurrent `ab*` searches (limit 100) in a loop, same 200 documents" },
  d: { tenant: "atk-d", what: "tools/list + resources/list + ping at will (c=4)" },
  e: { what: "no key: unique 500 KB method names (c=4)" },
  f: { what: "no key: 1 MiB bodies at ~135 req/s" },
  g: { tenant: "atk-g", what: "subscriptions/listen streams, up to 1,030 attempts, held open" },
  h: { what: "2,000 keep-alive connections (one /healthz each, then idle)" },
  i: { tenant: "atk-i", what: "21 bad keys then the valid key, same address, ~5 rounds/s" },
  j: { tenant: "atk-j", what: "invented tools/call names, unique each (c=4)" },
};

const envelope = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };
async function call(server: Serve, key: string, tool: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": tool, authorization: `Bearer ${key}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool, arguments: args, _meta: envelope } }),
  });
  const json = (await res.json()) as { result?: { isError?: boolean; structuredContent?: Record<string, unknown> } };
  if (!json.result || json.result.isError) throw new Error(`${tool}: ${JSON.stringify(json).slice(0, 300)}`);
  return json.result.structuredContent ?? {};
}

/** Runs `work` over `items` with `n` concurrent workers. */
async function pool<T>(items: T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/** 250 KB of random 3-8 letter words: every two-letter prefix matches thousands of tokens per document. */
function bigContent(seed: number): string {
  const r = rng(seed);
  const parts: string[] = [];
  let size = 0;
  while (size < 255_990) {
    const len = 3 + Math.floor(r() * 6);
    let w = "";
    for (let i = 0; i < len; i++) w += String.fromCharCode(97 + Math.floor(r() * 26));
    parts.push(w);
    size += len + 1;
  }
  return parts.join(" ").slice(0, 256_000 - 1);
}

type RowResult = {
  row: string;
  workers: number;
  victim: LoadResult;
  health: { p50: number; p99: number; max: number; failures: number; count: number };
  rss: { first: number; max: number; last: number };
  fds: { before: number; after: number };
  series?: { before: number; after: number };
  attacker?: { sent: number; counts: Record<string, number>; notes: Record<string, unknown> };
  load: number;
};

const { dir, mt, version } = binaryDir("mcp-mt-noisy-");
say(`work directory ${dir}`);
const addTenant = (id: string, plan: string) => (JSON.parse(mt("tenant", "add", id, "--plan", plan, "--json")) as { api_key: string }).api_key;
const results: RowResult[] = [];
let setupNote = "";
let server: Serve | undefined;
try {
  // ------------------------------------------------------------ setup
  const keys: Record<string, string> = { victim: addTenant("victim", "pro") };
  for (const id of ["atk-a", "atk-b", "atk-c", "atk-d", "atk-g", "atk-i", "atk-j"]) keys[id] = addTenant(id, "free");
  mt("tenant", "set-limit", "victim", "--rate-limit", "1000000", "--discovery-per-minute", "1000000", "--cpu-ms-per-minute", "100000000", "--monthly-tool-calls", "1000000000", "--max-concurrency", "64");
  for (const id of ["atk-a", "atk-b"]) mt("tenant", "set-limit", id, "--rate-limit", "100000", "--cpu-ms-per-minute", "100000000");
  const t0 = performance.now();
  server = await serve(dir, {}, "setup.log");
  const next = documentGenerator(4242);
  const ids: string[] = [];
  await pool(Array.from({ length: 500 }, (_, i) => i), 8, async () => {
    ids.push((await call(server!, keys.victim!, "create_document", next() as unknown as Record<string, unknown>)).id as string);
  });
  await call(server, keys["atk-a"]!, "create_document", { title: "Repeated", content: "a ".repeat(32 * 1024) });
  let bigDocs = 0;
  let bigRefused = "";
  await pool(Array.from({ length: 200 }, (_, i) => i), 4, async (i) => {
    try {
      await call(server!, keys["atk-b"]!, "create_document", { title: `Big ${i}`, content: bigContent(i + 1) });
      bigDocs++;
    } catch (e) {
      bigRefused ||= String(e).slice(0, 300);
    }
  });
  await server.stop();
  server = undefined;
  for (const id of ["atk-a", "atk-b"]) mt("tenant", "set-limit", id, "--clear");
  // atk-c gets a copy of atk-b's file (server stopped), so rows b and c have the same data and separate budgets.
  for (const suffix of ["", "-wal", "-shm"]) {
    const from = join(dir, "data", "tenants", `atk-b.db${suffix}`);
    const to = join(dir, "data", "tenants", `atk-c.db${suffix}`);
    rmSync(to, { force: true });
    if (existsSync(from)) copyFileSync(from, to);
  }
  setupNote = `Setup (${((performance.now() - t0) / 1000).toFixed(0)} s, through MCP with the attackers' rate limits raised, then cleared with \`tenant set-limit --clear\`): victim 500 generated documents; atk-a one 64 KiB \`a a a …\` document; atk-b ${bigDocs} documents of 250 KB of random 3-8 letter words (${bigRefused ? `refused: ${bigRefused}` : "all within the free quota"}); atk-c a copy of atk-b's file.`;
  say(setupNote);
  const manifestPath = join(dir, "victim-manifest.json");
  writeFileSync(manifestPath, JSON.stringify({ ids, queries: [] }));

  // ------------------------------------------------------------ rows
  const metricSeries = async (s: Serve) => {
    try {
      const text = await (await fetch(s.metricsUrl)).text();
      return text.split("\n").filter((l) => l && !l.startsWith("#")).length;
    } catch {
      return NaN;
    }
  };
  const runRow = async (s: Serve, row: string, workers: number): Promise<RowResult> => {
    const pid = s.proc.pid;
    const spec = rowsSpec[row];
    const rss = rssSampler(pid);
    const fdsBefore = fdCount(pid);
    const seriesBefore = await metricSeries(s);
    let attack: ReturnType<typeof spawn> | undefined;
    let attackOut: Promise<string> | undefined;
    if (spec) {
      const lead = row === "h" || row === "g" ? 4 : 1.5;
      attack = spawn([process.execPath, join(import.meta.dir, "attacks.ts"), "--row", row, "--url", s.url, "--duration", String(lead + warmupS + durationS + 0.5)], {
        env: { ...process.env, ATTACK_KEY: spec.tenant ? keys[spec.tenant]! : "", ATTACK_FROM: `127.0.${workers}.${10 + Object.keys(rowsSpec).indexOf(row)}` },
        stdout: "pipe",
        stderr: "inherit",
      });
      attackOut = new Response(attack.stdout as ReadableStream).text();
      await Bun.sleep(lead * 1000);
    }
    const probe = healthProbe(s.url);
    const victim = spawn([process.execPath, join(import.meta.dir, "load.ts"), "--url", s.url, "--scenario", "get_document", "--concurrency", "4", "--duration", String(durationS), "--warmup", String(warmupS), "--manifest", manifestPath], {
      env: { ...process.env, BENCH_API_KEY: keys.victim! },
      stdout: "pipe",
      stderr: "inherit",
    });
    const out = await new Response(victim.stdout).text();
    await victim.exited;
    const health = await probe.stop();
    const fdsDuring = fdCount(pid);
    let attacker: RowResult["attacker"];
    if (attack) {
      const text = await attackOut!;
      await attack.exited;
      try {
        attacker = JSON.parse(text.trim().split("\n").at(-1)!);
      } catch {
        attacker = { sent: 0, counts: { "attack output unreadable": 1 }, notes: { text: text.slice(0, 300) } };
      }
    }
    const seriesAfter = await metricSeries(s);
    const r: RowResult = {
      row,
      workers,
      victim: JSON.parse(out.trim().split("\n").at(-1)!) as LoadResult,
      health: { p50: percentile(health.latencies, 50), p99: percentile(health.latencies, 99), max: health.latencies.at(-1) ?? NaN, failures: health.failures, count: health.latencies.length },
      rss: rss.stop(),
      fds: { before: fdsBefore, after: fdsDuring },
      series: { before: seriesBefore, after: seriesAfter },
      ...(attacker ? { attacker } : {}),
      load: load1(),
    };
    say(
      `[workers ${workers}] ${row}: victim p50 ${r.victim.p50.toFixed(2)} p99 ${r.victim.p99.toFixed(2)} max ${r.victim.max.toFixed(1)} errors ${r.victim.errors}${r.victim.firstError ? ` (${r.victim.firstError.slice(0, 120)})` : ""}; healthz p99 ${r.health.p99.toFixed(1)}; rss ${r.rss.first.toFixed(0)}→${r.rss.max.toFixed(0)} MiB; fds ${r.fds.before}→${r.fds.after}; load ${r.load.toFixed(2)}` +
        (attacker ? `\n    attacker: ${JSON.stringify(attacker.counts)} ${JSON.stringify(attacker.notes).slice(0, 600)}` : ""),
    );
    await Bun.sleep(2_000);
    return r;
  };

  for (const workers of [0, 1]) {
    const extra = Object.fromEntries(values["server-env"].split(",").filter(Boolean).map((kv) => kv.split("=") as [string, string]));
    server = await serve(dir, { ...extra, ...(workers ? { MCP_MT_TENANCY_WORKERS: String(workers) } : {}) }, `serve-${workers}.log`);
    const metrics = await (await fetch(server.metricsUrl)).text();
    const serving = Number(/mcp_mt_store_workers\{state="serving"\} (\d+)/.exec(metrics)?.[1] ?? NaN);
    say(`serve (workers setting ${workers || "default"}): ${serving} store workers serving`);
    // Warm the victim's file and the server before the quiet row.
    await call(server, keys.victim!, "get_document", { id: ids[0]! });
    const rows = ["quiet", ...(workers ? values["one-worker-rows"] : values.rows).split(",")];
    for (const row of rows) results.push(await runRow(server, row, serving));
    await server.stop();
    server = undefined;
  }
} finally {
  await server?.stop();
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}

// ------------------------------------------------------------ report
const f = (v: number, d = 1) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(d)) : "?");
const countsText = (a?: RowResult["attacker"]) => {
  if (!a) return "—";
  const parts = Object.entries(a.counts).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k.trim()} ×${v}`);
  const notes = Object.entries(a.notes).map(([k, v]) => {
    if (k === "single_letter_query") {
      const q = v as { status: number; body: string };
      const text = /"text":"((?:[^"\\]|\\.)*)"/.exec(q.body)?.[1]?.replace(/\\"/g, "`") ?? q.body.slice(0, 120);
      return `26 single-letter prefixes: HTTP ${q.status}${q.body.includes('"isError":true') ? " isError" : ""} "${text}"`;
    }
    return `${k}: ${typeof v === "object" ? JSON.stringify(v).slice(0, 200) : v}`;
  });
  return [...parts, ...notes].join("; ").replace(/\n/g, " ");
};
const tables: string[] = [];
for (const workers of [...new Set(results.map((r) => r.workers))]) {
  const rows = results.filter((r) => r.workers === workers);
  const quiet = rows.find((r) => r.row === "quiet")!;
  const lines = [
    `**${workers} store worker${workers === 1 ? "" : "s"}${workers === 1 ? " (`MCP_MT_TENANCY_WORKERS=1`)" : " (default `[tenancy] workers = 0`: one per CPU)"}.** Quiet: victim p50 ${f(quiet.victim.p50, 2)} ms, p99 ${f(quiet.victim.p99, 2)} ms, ${Math.round(quiet.victim.rps).toLocaleString("en-US")} req/s.`,
    "",
    "| row | attack | victim p50 / p99 / max ms | p99 ÷ quiet p99 | victim errors | /healthz p99 ms | server RSS MiB (start → max) | fds before → during | goals (p99 ≤ 2×, max ≤ 100 ms, healthz < 20 ms) | load avg |",
    "|---|---|--:|--:|--:|--:|--:|--:|---|--:|",
  ];
  for (const r of rows) {
    const ratio = r.victim.p99 / quiet.victim.p99;
    const goals = [ratio <= 2 ? "✓" : "✗", r.victim.max <= 100 ? "✓" : "✗", r.health.p99 < 20 ? "✓" : "✗"].join(" ");
    lines.push(
      `| ${r.row} | ${r.row === "quiet" ? "none" : rowsSpec[r.row]!.what} | ${f(r.victim.p50, 2)} / ${f(r.victim.p99, 2)} / ${f(r.victim.max)} | ${ratio.toFixed(2)} | ${r.victim.errors}${r.victim.firstError ? ` (${r.victim.firstError.slice(0, 80).replace(/\|/g, "\\|")})` : ""} | ${f(r.health.p99)}${r.health.failures ? ` (${r.health.failures} failed)` : ""} | ${f(r.rss.first, 0)} → ${f(r.rss.max, 0)} | ${r.fds.before} → ${r.fds.after} | ${goals} | ${r.load.toFixed(2)} |`,
    );
  }
  lines.push("", "What the attacker got back (HTTP status, JSON-RPC error code or `ok`; counts over the whole attack):", "", "| row | requests | responses | /metrics series before → after |", "|---|--:|---|--:|");
  for (const r of rows.filter((x) => x.attacker)) lines.push(`| ${r.row} | ${r.attacker!.sent.toLocaleString("en-US")} | ${countsText(r.attacker)} | ${r.series?.before} → ${r.series?.after} |`);
  tables.push(lines.join("\n"));
}

const section = [
  "<!-- noisy-neighbour:begin (written by bun bench/noisy-neighbour.ts) -->",
  "## Noisy neighbour (issue 9)",
  "",
  `Generated by \`bun bench/noisy-neighbour.ts\` on ${new Date().toISOString()} (wall time ${Math.round((performance.now() - started) / 1000)} s), ${machineLine()}, \`${version}\`.`,
  `A victim tenant (pro plan, its own limits raised so its closed loop is never throttled) calls get_document at c=4 (bench/load.ts, own process, 127.0.0.1, ${warmupS} s warm-up + ${durationS} s measured)`,
  "while each attack runs in its own process from its own loopback address 127.0.<workers>.<10+row> (bench/attacks.ts) at the free plan's full allowance: it sends as fast as the row says and the server refuses what is over the plan.",
  "/healthz is probed every 20 ms from the orchestrator. Load average (1 min) at the end of each row is in the last column: the machine is shared with other engineers' builds and tests.",
  setupNote,
  "",
  ...tables.flatMap((t) => [t, ""]),
  "<!-- noisy-neighbour:end -->",
].join("\n");
console.log(section);
await Bun.write("/tmp/noisy-neighbour-results.json", JSON.stringify(results, null, 1)).catch(() => undefined);
if (!values["no-write"]) await writeSection("noisy-neighbour", section);
say(`cpus ${cpus()}, load ${load1().toFixed(2)}`);
