/**
 * Tenant-store benchmark, in process (no HTTP): get, create and search at concurrency c on one tenant holding
 * N generated documents, for libSQL (the registry with its worker threads) and each PostgreSQL strategy
 * (row, schema, database) on a throwaway PostgreSQL server (test/helpers/postgres.ts). The same corpus
 * (bench/text.ts, seed 42) everywhere; PostgreSQL rows are bulk-loaded with the store's own column values.
 * Reports req/s, p50/p99 latency, this process's CPU time per request, and the connections PostgreSQL saw.
 *
 *   bun bench/pg-store.ts [--docs 100000] [--seconds 5] [--concurrency 16] [--only libsql,row,schema,database]
 */
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { openPostgresTenantStorage, type Isolation, type PostgresTenantStorage } from "../src/store/postgres/postgres-tenant-storage.ts";
import type { TenantStorage, TenantStore } from "../src/store/tenant-store.ts";
import { unlimited } from "../src/store/tenant/documents.ts";
import { TenantRegistry } from "../src/tenancy/registry.ts";
import { tenantDbPath } from "../src/tenancy/tenant-id.ts";
import { pgDatabase } from "../test/helpers/postgres.ts";
import { cleanupTempDirs, tempDir } from "../test/helpers/tmp.ts";
import { seed } from "./seed.ts";
import { loadPgTenant } from "./pg-load.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    docs: { type: "string", default: "100000" },
    seconds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "16" },
    only: { type: "string", default: "libsql,row,schema,database" },
  },
});
const docs = Number(values.docs);
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const only = new Set(values.only!.split(","));
const say = (line: string) => process.stderr.write(`${line}\n`);

type Result = { backend: string; op: string; rps: number; p50: number; p99: number; cpuMs: number; connections?: number };
const results: Result[] = [];
const percentile = (v: number[], q: number) => v.sort((a, b) => a - b)[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)] ?? 0;

/** Runs `op` from `concurrency` loops for `seconds`; latency per call, CPU time of this process per call. */
async function load(backend: string, name: string, op: (i: number) => Promise<unknown>, connections?: () => Promise<number>): Promise<void> {
  const latencies: number[] = [];
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const cpu0 = process.cpuUsage();
  let peak = 0;
  const sampler = connections ? setInterval(() => void connections().then((c) => (peak = Math.max(peak, c))), 250) : undefined;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await op(n++);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  clearInterval(sampler);
  const cpu = process.cpuUsage(cpu0);
  const result = { backend, op: name, rps: latencies.length / seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), cpuMs: (cpu.user + cpu.system) / 1000 / latencies.length, ...(connections ? { connections: peak } : {}) };
  results.push(result);
  say(JSON.stringify(result));
}

async function run(backend: string, storage: TenantStorage, ids: string[], word: string, connections?: () => Promise<number>): Promise<void> {
  const store: TenantStore = storage.store("bench", { quota: unlimited });
  await store.get(ids[0]!);
  await load(backend, "get", (i) => store.get(ids[i % ids.length]!), connections);
  await load(backend, "search", () => store.search(word, 10), connections);
  await load(backend, "create", (i) => store.create({ title: `bench ${i}`, content: `created by the benchmark, request ${i}`, tags: ["bench"] }), connections);
}

const started = performance.now();
try {
  // libSQL first: its seeding picks the search word (0.5-2 % of documents) used everywhere.
  const dataDir = tempDir("mcp-mt-pg-bench-");
  const registry = new TenantRegistry({ dataDir, maxOpen: 16, sqlite: { synchronous: "NORMAL", busyTimeoutMs: 5000 }, workers: 2 });
  await registry.create("bench");
  await registry.close("bench");
  say(`seeding libSQL with ${docs} documents…`);
  const manifest = await seed(tenantDbPath(dataDir, "bench"), { count: docs, seed: 42 });
  const word = manifest.queries[0]!.word;
  say(`search word: ${word} (${manifest.queries[0]!.matches} documents)`);
  if (only.has("libsql")) await run("libSQL (2 workers)", registry, manifest.ids, word);
  await registry.closeAll();

  for (const isolation of ["row", "schema", "database"] as Isolation[]) {
    if (!only.has(isolation)) continue;
    const db = pgDatabase(`bench_${isolation}`);
    const storage: PostgresTenantStorage = await openPostgresTenantStorage({ url: db.url, isolation, strategyOf: async () => isolation, poolMax: 16, databasePoolMax: 16 });
    await storage.create("bench");
    say(`seeding PostgreSQL ${isolation}…`);
    const t0 = performance.now();
    const ids = await loadPgTenant({ url: db.url, isolation, tenant: "bench", mainDb: db.name, docs, log: say });
    say(`  loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // Sampled on a connection of its own (counted out), asynchronously: a spawned psql would block the loop.
    const observer = postgres(db.url, { max: 1, onnotice: () => {} });
    const connections = async () => Number((await observer.unsafe("SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'mcp_app' AND pid <> pg_backend_pid()"))[0]!.n);
    await run(`PostgreSQL ${isolation}`, storage, ids, word, connections);
    await observer.end();
    await storage.closeAll();
  }
} finally {
  cleanupTempDirs();
}

const rows = results.map((r) => `| ${r.backend} | ${r.op} | ${Math.round(r.rps)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpuMs.toFixed(3)} | ${r.connections ?? "—"} |`);
console.log(
  [
    `In-process tenant-store benchmark: ${docs.toLocaleString("en-US")} documents in the tenant, c=${concurrency}, ${seconds} s per operation, load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs (shared machine: compare ratios), wall ${Math.round((performance.now() - started) / 1000)} s.`,
    "CPU ms/req is this process only (PostgreSQL's server CPU is not in it; libSQL's worker threads are).",
    "",
    "| backend | op | req/s | p50 ms | p99 ms | CPU ms/req | PG connections (peak) |",
    "|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n"),
);
process.exit(0);
