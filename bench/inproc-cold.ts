/**
 * CPU per first touch of a tenant (cold tenants, issue 9 item 5), in-process: the hono app built as
 * src/http/server.ts builds it (2 store workers, max_open_tenants 256, limits and metering on, access log to a
 * sink), driven by --concurrency loops of list_documents, each call with the next tenant's key. Reports CPU per
 * call of the main thread, of the GC helper threads and of the process, and the CPU the store workers charged
 * to the calls themselves (what the CPU budget sees). Steadier than bench/cold-tenants.ts on a shared machine;
 * leaves out HTTP and the load generator.
 *
 *   bun bench/inproc-cold.ts --dir <dir> [--concurrency 16] [--warm 100]
 * <dir>: an installation made by `mcp-mt tenant add --from tenants.csv --format json > added.json` (≥ 1,000
 * tenants; each call after the first --warm is a tenant not touched before, or evicted since).
 */
import { readFileSync } from "node:fs";
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
import { threadCpu } from "./mcp-mt-server.ts";

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { dir: { type: "string" }, concurrency: { type: "string", default: "16" }, warm: { type: "string", default: "100" } } });
const dir = values.dir!;
const keys = (JSON.parse(readFileSync(join(dir, "added.json"), "utf8")) as { tenants: { api_key: string }[] }).tenants.map((t) => t.api_key);
const warmCount = Number(values.warm);
const loaded = loadConfig({ cwd: dir, env: {} });
const log = createLogger({ level: "info", format: "json", write: () => undefined });
const services = await createServices(loaded, { workers: 2, maxOpen: 256, log });
const authenticator = new Authenticator({ keys: services.keys, tenants: services.tenants, clock: services.clock });
const limits = createLimits(services, log);
let charged = 0;
services.registry.observeBusy((tenant, ms) => {
  charged += ms;
  limits.cpu.charge(tenant, ms);
});
const stats = new LiveStats({ clock: services.clock, tools: buildCatalogue(services.config).tools.map((t) => t.name) });
const app = createApp({ config: services.config, services, log, readiness: { draining: false }, authenticator, limits, stats });

const envelope = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };
const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "list_documents", arguments: {}, _meta: envelope } });
const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "list_documents", host: "127.0.0.1" };
const mainCpu = () => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
};
let failures = 0;

async function drive(list: string[], total: number) {
  let cursor = 0;
  let left = total;
  const loop = async () => {
    while (left-- > 0) {
      const key = list[cursor++ % list.length]!;
      const response = await app.fetch(new Request("http://127.0.0.1/mcp", { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body }));
      const text = await response.text();
      if (response.status !== 200 || text.includes('"isError":true')) failures++;
    }
  };
  const c0 = charged;
  const m0 = mainCpu();
  const t0 = threadCpu(process.pid);
  const started = performance.now();
  await Promise.all(Array.from({ length: Number(values.concurrency) }, loop));
  const t1 = threadCpu(process.pid);
  const us = (ms: number) => `${Math.round((ms / total) * 1000)} µs`;
  return { calls: total, wall: us(performance.now() - started), main: us(mainCpu() - m0), gc: us(t1.gc - t0.gc), process: us(t1.total - t0.total), chargedToCalls: us(charged - c0) };
}

const warm = keys.slice(0, warmCount);
const cold = keys.slice(warmCount);
await drive(warm, warm.length * 20);
console.log("warm (already open), per call:", await drive(warm, warm.length * 50));
await drive(cold.slice(0, 300), 300);
console.log("first touch (round robin over the rest), per call:", await drive(cold.slice(300), Math.min(cold.length - 300, 3000)));
console.log("failures:", failures);
await services.close();
process.exit(0);
