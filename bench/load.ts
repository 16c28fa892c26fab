/**
 * Closed-loop HTTP load generator for MCP tools/call (2026-07-28, stateless): N concurrent workers, each sends
 * one request, waits for the full response body, sends the next. Bun's fetch keeps connections alive and pools
 * them, so after the warm-up every worker reuses its connection. Run it as its own process, never inside a server.
 *
 *   bun bench/load.ts --url http://127.0.0.1:PORT/mcp --scenario get_document --concurrency 16 \
 *     --duration 6 --warmup 2 [--key API_KEY | --keys FILE] [--manifest seed-manifest.json] [--requests N]
 * (the key may instead come from the BENCH_API_KEY environment variable, which keeps it out of `ps`; --keys FILE
 * holds one key per line, and each request picks one at random: many tenants at once).
 *
 * Scenarios: get_document (random ids from the seed manifest), search_documents (the manifest's words),
 * create_document (generated documents), list_documents (the newest 10), echo (tools/call echo {message}). Prints one JSON object on stdout:
 * requests, errors, seconds, rps, latency percentiles in ms (p50, p90, p99, max, mean). Latency is measured per
 * request from just before fetch() to the end of reading the body; only requests STARTED after the warm-up count.
 * Throughput = counted requests / (last counted completion - end of warm-up).
 */
import { parseArgs } from "node:util";
import { documentGenerator } from "./text.ts";

export const protocolVersion = "2026-07-28";

export type Scenario = "get_document" | "search_documents" | "create_document" | "list_documents" | "echo";
export const scenarios: readonly Scenario[] = ["get_document", "search_documents", "create_document", "list_documents", "echo"];

export type LoadResult = {
  scenario: Scenario;
  concurrency: number;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  firstError?: string;
};

type Manifest = { ids: string[]; queries: { word: string; matches: number }[] };

/** The JSON-RPC bodies a scenario cycles through (pre-serialized, so the generator does no work per request). */
export function bodiesFor(scenario: Scenario, manifest: Manifest | undefined): { tool: string; bodies: string[] } {
  const envelope = { "io.modelcontextprotocol/protocolVersion": protocolVersion, "io.modelcontextprotocol/clientCapabilities": {} };
  const call = (tool: string, args: Record<string, unknown>, id: number) =>
    JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: tool, arguments: args, _meta: envelope } });
  const need = () => {
    if (!manifest) throw new Error(`scenario ${scenario} needs --manifest (written by bench/seed.ts)`);
    return manifest;
  };
  switch (scenario) {
    case "get_document":
      return { tool: scenario, bodies: need().ids.map((id, i) => call(scenario, { id }, i + 1)) };
    case "search_documents":
      return { tool: scenario, bodies: need().queries.map((q, i) => call(scenario, { query: q.word }, i + 1)) };
    case "create_document": {
      const next = documentGenerator(9_001);
      return { tool: scenario, bodies: Array.from({ length: 1_000 }, (_, i) => call(scenario, next(), i + 1)) };
    }
    case "list_documents":
      return { tool: scenario, bodies: [call(scenario, { limit: 10 }, 1)] };
    case "echo":
      return { tool: scenario, bodies: Array.from({ length: 16 }, (_, i) => call(scenario, { message: `hello from worker ${i}` }, i + 1)) };
  }
}

/** A response is an error unless it is HTTP 200 with a JSON-RPC result that is not a tool error. */
function failure(status: number, text: string): string | null {
  if (status !== 200) return `HTTP ${status}: ${text.slice(0, 300)}`;
  if (!text.startsWith('{"result":') && !text.includes('"result":{')) return `not a result: ${text.slice(0, 300)}`;
  if (text.includes('"isError":true')) return `tool error: ${text.slice(0, 300)}`;
  return null;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export async function runLoad(options: {
  url: string;
  scenario: Scenario;
  concurrency: number;
  durationS: number;
  warmupS: number;
  requests?: number;
  key?: string;
  /** One key picked at random per request (instead of `key`). */
  keys?: string[];
  manifest?: Manifest;
  /** Write MEASURE_START / MEASURE_END lines on stderr. */
  markers?: boolean;
}): Promise<LoadResult> {
  const { tool, bodies } = bodiesFor(options.scenario, options.manifest);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": protocolVersion,
    "mcp-method": "tools/call",
    "mcp-name": tool,
    ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
  };
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let errors = 0;
  let firstError: string | undefined;
  let cursor = Math.floor(Math.random() * bodies.length);
  const start = performance.now();
  const measureFrom = start + options.warmupS * 1000;
  const measureUntil = options.requests === undefined ? measureFrom + options.durationS * 1000 : Number.POSITIVE_INFINITY;
  let lastDone = measureFrom;
  let started = 0;

  const worker = async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= measureUntil) return;
      const measured = t0 >= measureFrom;
      if (measured && options.requests !== undefined && started++ >= options.requests) return;
      const body = bodies[cursor++ % bodies.length]!;
      let problem: string | null;
      try {
        const keys = options.keys;
        const res = await fetch(options.url, { method: "POST", headers: keys ? { ...headers, authorization: `Bearer ${keys[Math.floor(Math.random() * keys.length)]}` } : headers, body });
        problem = failure(res.status, await res.text());
      } catch (error) {
        problem = `fetch failed: ${error instanceof Error ? error.message : String(error)}`;
      }
      const t1 = performance.now();
      if (problem !== null) {
        firstError ??= problem;
        if (measured) errors++;
        // A failing server must not be hammered in a tight loop.
        if (problem.startsWith("fetch failed")) await Bun.sleep(10);
      }
      if (!measured) continue;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = t1 - t0;
      if (t1 > lastDone) lastDone = t1;
    }
  };
  // Markers on stderr let an orchestrator sample the server's CPU time over exactly the measured window.
  const marker = setTimeout(() => options.markers && process.stderr.write("MEASURE_START\n"), Math.max(0, measureFrom - performance.now()));
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  clearTimeout(marker);
  if (options.markers) process.stderr.write("MEASURE_END\n");

  const sorted = latencies.slice(0, count).sort();
  const seconds = (lastDone - measureFrom) / 1000;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    scenario: options.scenario,
    concurrency: options.concurrency,
    requests: count,
    errors,
    seconds,
    rps: seconds > 0 ? count / seconds : 0,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: count ? sorted[count - 1]! : NaN,
    mean: count ? sum / count : NaN,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      url: { type: "string" },
      scenario: { type: "string" },
      concurrency: { type: "string", default: "1" },
      duration: { type: "string", default: "6" },
      warmup: { type: "string", default: "2" },
      requests: { type: "string" },
      key: { type: "string" },
      keys: { type: "string" },
      manifest: { type: "string" },
      markers: { type: "boolean", default: false },
    },
  });
  const scenario = values.scenario as Scenario;
  if (!values.url || !scenarios.includes(scenario)) {
    console.error(`usage: bun bench/load.ts --url URL --scenario ${scenarios.join("|")} [--concurrency N] [--duration S] [--warmup S] [--requests N] [--key K | --keys FILE] [--manifest FILE]`);
    process.exit(2);
  }
  const result = await runLoad({
    url: values.url,
    scenario,
    markers: values.markers,
    concurrency: Number(values.concurrency),
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    ...(values.requests !== undefined ? { requests: Number(values.requests) } : {}),
    ...((values.key ?? process.env.BENCH_API_KEY) ? { key: values.key ?? process.env.BENCH_API_KEY } : {}),
    ...(values.keys !== undefined ? { keys: (await Bun.file(values.keys).text()).split("\n").filter(Boolean) } : {}),
    ...(values.manifest !== undefined ? { manifest: (await Bun.file(values.manifest).json()) as Manifest } : {}),
  });
  console.log(JSON.stringify(result));
}
