/**
 * CPU per get_document of the whole request pipeline in-process: the hono app built as src/http/server.ts builds
 * it (store workers on, limits and metering on, access log formatted and written to a sink), driven by
 * --concurrency loops calling app.fetch with no socket and no load generator process. Reports CPU µs per request
 * of the main thread, of the store worker threads and of the process. Without the HTTP stack and a second
 * process competing for the cores, this is much steadier than bench/cpu-ab.ts on a shared machine; it leaves
 * out what Bun.serve and src/http/server.ts's connection edge do per request.
 *
 *   NODE_ENV=production bun bench/inproc-cpu.ts --dir <dir with mcp-mt.toml, data/, manifest.json, key.json>
 *        [--concurrency 16] [--n 20000] [--warm 20000] [--passes 3]
 * The directory is what bench/cpu-ab.ts makes (a tenant "bench" with seeded documents); key.json is the output of
 * `mcp-mt tenant add bench --plan enterprise --json`, manifest.json bench/seed.ts's.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Authenticator } from "../src/auth/authenticate.ts";
import { loadConfig } from "../src/config/load.ts";
import { createApp } from "../src/http/app.ts";
import { createLimits } from "../src/limits/setup.ts";
import { createLogger } from "../src/log.ts";
import { buildCatalogue } from "../src/mcp/server.ts";
import { LiveStats } from "../src/metering/live-stats.ts";
import { createServices } from "../src/services.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { dir: { type: "string" }, concurrency: { type: "string", default: "16" }, n: { type: "string", default: "20000" }, warm: { type: "string", default: "20000" }, passes: { type: "string", default: "3" } },
});
const dir = values.dir!;
const key = (JSON.parse(readFileSync(join(dir, "key.json"), "utf8")) as { api_key: string }).api_key;
const ids = (JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { ids: string[] }).ids;

const loaded = loadConfig({ cwd: dir, env: {} });
let lines = 0;
const log = createLogger({ level: "info", format: "json", write: () => void lines++ });
const services = await createServices(loaded, { workers: 2, maxOpen: 256, log });
const { config } = services;
const authenticator = new Authenticator({ keys: services.keys, tenants: services.tenants, clock: services.clock });
const limits = createLimits(services, log);
services.registry.observeBusy((tenant, ms) => limits.cpu.charge(tenant, ms));
const stats = new LiveStats({ clock: services.clock, tools: buildCatalogue(config).tools.map((t) => t.name) });
const app = createApp({ config, services, log, readiness: { draining: false }, authenticator, limits, stats });

const envelope = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };
const bodies = ids.map((id, i) => JSON.stringify({ jsonrpc: "2.0", id: i + 1, method: "tools/call", params: { name: "get_document", arguments: { id }, _meta: envelope } }));
const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "get_document", authorization: `Bearer ${key}`, host: "127.0.0.1" };
let cursor = 0;
let failures = 0;

async function drive(total: number): Promise<void> {
  let left = total;
  const loop = async () => {
    while (left-- > 0) {
      const response = await app.fetch(new Request("http://127.0.0.1/mcp", { method: "POST", headers, body: bodies[cursor++ % bodies.length]! }));
      const text = await response.text();
      if (response.status !== 200 || text.includes('"isError":true')) failures++;
    }
  };
  await Promise.all(Array.from({ length: Number(values.concurrency) }, loop));
}

const tick = 100;
/** CPU ms of this process's threads named "Worker" (the store workers). */
function workerMs(): number {
  let ms = 0;
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim() !== "Worker") continue;
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ms += ((Number(f[11]) + Number(f[12])) * 1000) / tick;
    } catch {
      // a thread that ended
    }
  }
  return ms;
}

await drive(Number(values.warm));
const n = Number(values.n);
for (let pass = 1; pass <= Number(values.passes); pass++) {
  const main0 = process.threadCpuUsage();
  const all0 = process.cpuUsage();
  const w0 = workerMs();
  const t0 = performance.now();
  await drive(n);
  const main = process.threadCpuUsage(main0);
  const all = process.cpuUsage(all0);
  const us = (x: { user: number; system: number }) => ((x.user + x.system) / n).toFixed(0);
  console.log(`pass ${pass}: ${(n / ((performance.now() - t0) / 1000)).toFixed(0)} req/s, CPU µs/req main ${us(main)}, store workers ${(((workerMs() - w0) * 1000) / n).toFixed(0)}, process ${us(all)}, failures ${failures}, log lines ${lines}`);
}
await services.close();
process.exit(0);
