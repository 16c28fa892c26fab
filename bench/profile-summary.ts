/**
 * Summarises a Chrome-format CPU profile (from `bun --cpu-prof`) by package: each sample is charged to the
 * package of its innermost JavaScript frame (a native frame such as JSON.parse is charged to the JS code that
 * called it; libsql's native functions count as the libsql driver). Also lists the hottest src/ functions
 * inclusive of everything they call (within one synchronous stack: async continuations start new stacks).
 *
 *   bun bench/profile-summary.ts profile.cpuprofile [--requests N]   (N: requests served, for µs/request)
 *
 * How the profile for bench/PROFILE.md was taken: run the server from source under load, e.g.
 *   cd <bench dir> && NODE_ENV=production bun --cpu-prof --cpu-prof-dir=/tmp/prof --cpu-prof-interval=200 \
 *     /work/main/src/main.ts serve --port 39202 2>/dev/null &
 *   BENCH_API_KEY=... bun bench/load.ts --url http://127.0.0.1:39202/mcp --scenario get_document --manifest ... --concurrency 16
 *   kill -TERM <server pid>     (the profile is written on exit)
 */
import { parseArgs } from "node:util";

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] };
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] };

const { values, positionals } = parseArgs({ args: Bun.argv.slice(2), allowPositionals: true, options: { requests: { type: "string" }, top: { type: "string", default: "25" }, fn: { type: "string", default: "" } } });
/** Extra functions (by name, any file) to report inclusive of their callees. */
const watched = new Set(values.fn.split(",").filter(Boolean));
const file = positionals[0];
if (!file) {
  console.error("usage: bun bench/profile-summary.ts <file.cpuprofile> [--requests N]");
  process.exit(2);
}
const profile = (await Bun.file(file).json()) as Profile;
const byId = new Map<number, Node>();
const parent = new Map<number, number>();
for (const node of profile.nodes) {
  byId.set(node.id, node);
  for (const child of node.children ?? []) parent.set(child, node.id);
}

function packageOf(node: Node): string | null {
  const { url, functionName } = node.callFrame;
  if (functionName.startsWith("libsql_js::")) return "libsql driver (native + JS)";
  if (!url || url === "[native code]") return null;
  if (/node_modules\/(@libsql|libsql)\//.test(url)) return "libsql driver (native + JS)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg === "@modelcontextprotocol/server") return "MCP SDK (@modelcontextprotocol/server)";
  if (pkg) return pkg;
  const src = /\/src\/(.+)$/.exec(url)?.[1];
  if (src) return `mcp-mt src/${src}`;
  if (url.startsWith("node:") || url.startsWith("internal:") || url.startsWith("builtin:")) return `Bun runtime JS (${url.split(":")[0]}:)`;
  return url;
}

// Each sample stands for one sampling interval (the median gap); gaps while the thread was idle are not CPU time.
const sortedDeltas = [...profile.timeDeltas].sort((a, b) => a - b);
const nominal = sortedDeltas[sortedDeltas.length >> 1] ?? 0;
const charge = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = nominal;
  total += dt;
  let id: number | undefined = profile.samples[i];
  let category: string | null = null;
  const leaf = id !== undefined ? byId.get(id) : undefined;
  const seen = new Set<string>();
  while (id !== undefined) {
    const node = byId.get(id)!;
    if (category === null) category = packageOf(node);
    const { url, functionName, lineNumber } = node.callFrame;
    if (watched.has(functionName) && !seen.has(`fn:${functionName}`)) {
      seen.add(`fn:${functionName}`);
      inclusive.set(`fn:${functionName}`, (inclusive.get(`fn:${functionName}`) ?? 0) + dt);
    }
    if (/\/src\//.test(url)) {
      const key = `${functionName || "(anonymous)"} ${url.replace(/.*\/src\//, "src/")}:${lineNumber + 1}`;
      if (!seen.has(key)) {
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
      }
    }
    id = parent.get(id);
  }
  category ??= `native, no JS caller: ${leaf?.callFrame.functionName || "(unnamed)"}`;
  charge.set(category, (charge.get(category) ?? 0) + dt);
}

const requests = values.requests ? Number(values.requests) : undefined;
const fmt = (us: number) => `${(us / 1000).toFixed(0)} ms | ${((100 * us) / total).toFixed(1)}%${requests ? ` | ${(us / requests).toFixed(1)}` : ""}`;
console.log(`profile ${file}: ${profile.samples.length} samples x ${nominal} µs = ${(total / 1e6).toFixed(2)} s of JS-thread time${requests ? `, ${requests} requests` : ""}\n`);
console.log(`| charged to (innermost JS frame's package) | time | share${requests ? " | µs/request" : ""} |\n|---|--:|--:|${requests ? "--:|" : ""}`);
for (const [name, us] of [...charge].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`| ${name} | ${fmt(us)} |`);
if (watched.size) {
  console.log(`\n| function, inclusive (synchronous stack only) | time | share${requests ? " | µs/request" : ""} |\n|---|--:|--:|${requests ? "--:|" : ""}`);
  for (const name of watched) console.log(`| ${name} | ${fmt(inclusive.get(`fn:${name}`) ?? 0)} |`);
}
for (const key of [...inclusive.keys()]) if (key.startsWith("fn:")) inclusive.delete(key);
console.log(`\n| src/ function, inclusive (synchronous stack only) | time | share${requests ? " | µs/request" : ""} |\n|---|--:|--:|${requests ? "--:|" : ""}`);
for (const [name, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`| ${name} | ${fmt(us)} |`);
