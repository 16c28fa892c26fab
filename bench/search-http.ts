/**
 * The search benchmark through the compiled binary: search_documents over HTTP at c=1 (stateless 2026-07-28
 * `tools/call`), on a tenant of generated documents and on a tenant holding the adversarial document (64 KiB
 * of one repeated word), with the server's own worker threads, limits and logging.
 *   1. a fresh directory with dist/mcp-mt; two enterprise tenants; the corpus file replaced by a seeded one with
 *      the schema before bounded search (bench/search.ts --cache FILE writes it), then `mcp-mt migrate`;
 *   2. `serve`, then N sequential calls per query, timed from fetch() to the end of the body.
 * Writes a section of bench/RESULTS.md between the `search-http-bench` markers.
 *
 *   bun bench/search-http.ts --cache FILE [--iterations 100] [--no-write]
 */
import { spawn, spawnSync } from "bun";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { SeedManifest } from "./seed.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { cache: { type: "string" }, iterations: { type: "string", default: "100" }, "no-write": { type: "boolean", default: false } },
});
if (!values.cache || !existsSync(values.cache)) throw new Error("--cache FILE: a seeded tenant file written by `bun bench/search.ts --cache FILE`");
const iterations = Number(values.iterations);
const say = (line: string) => process.stderr.write(`${line}\n`);
const binary = join(import.meta.dir, "..", "dist", "mcp-mt");
const dir = mkdtempSync(join(tmpdir(), "mcp-mt-search-http-"));
const bin = join(dir, "mcp-mt");
const mt = (...args: string[]) => {
  const r = spawnSync([bin, ...args], { cwd: dir });
  if (r.exitCode !== 0) throw new Error(`mcp-mt ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.toString();
};
const envelope = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };
const headers = (key: string) => ({
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2026-07-28",
  "mcp-method": "tools/call",
  authorization: `Bearer ${key}`,
});

const started = performance.now();
const server = { proc: undefined as ReturnType<typeof spawn> | undefined };
try {
  copyFileSync(binary, bin);
  spawnSync(["chmod", "+x", bin]);
  const version = mt("--version").trim();
  const corpusKey = (JSON.parse(mt("tenant", "add", "corpus", "--plan", "enterprise", "--json")) as { api_key: string }).api_key;
  const attackKey = (JSON.parse(mt("tenant", "add", "attack", "--plan", "enterprise", "--json")) as { api_key: string }).api_key;
  const corpusFile = join(dir, "data", "tenants", "corpus.db");
  for (const suffix of ["", "-wal", "-shm"]) rmSync(corpusFile + suffix, { force: true });
  copyFileSync(values.cache, corpusFile);
  const manifest = JSON.parse(readFileSync(`${values.cache}.json`, "utf8")) as SeedManifest;
  const t0 = performance.now();
  mt("migrate");
  const migrateS = (performance.now() - t0) / 1000;
  say(`mcp-mt migrate: ${migrateS.toFixed(1)} s`);

  const proc = spawn([bin, "serve", "--port", "0"], { cwd: dir, env: { ...process.env, NODE_ENV: "production" }, stdout: "pipe", stderr: "ignore" });
  server.proc = proc;
  const reader = proc.stdout.getReader();
  let out = "";
  while (!/listening on (\S+)/.test(out)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`server exited: ${out}`);
    out += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void proc.stdout.pipeTo(new WritableStream()).catch(() => undefined);
  const url = /listening on (\S+)/.exec(out)![1]!;

  const call = async (key: string, name: string, args: Record<string, unknown>) => {
    const response = await fetch(url, { method: "POST", headers: { ...headers(key), "mcp-name": name }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: args, _meta: envelope } }) });
    const json = (await response.json()) as { result?: { isError?: boolean; structuredContent?: { count?: number } }; error?: unknown };
    if (!json.result || json.result.isError) throw new Error(`${name} failed: ${JSON.stringify(json)}`);
    return json.result.structuredContent;
  };
  await call(attackKey, "create_document", { title: "Repeated", content: "a ".repeat(32 * 1024) });
  for (let i = 0; i < 20; i++) await call(attackKey, "create_document", { title: `Note ${i}`, content: `an ordinary note number ${i} about a plan` });

  const queries = [
    { name: "1 % word (bench/run.ts)", key: corpusKey, query: manifest.queries[0]!.word },
    { name: "common word", key: corpusKey, query: "the" },
    { name: "2-character prefix", key: corpusKey, query: "re*" },
    { name: "3-character prefix", key: corpusKey, query: "pro*" },
    { name: "adversarial: 64 KiB of `a a a …`", key: attackKey, query: "a" },
  ];
  const rows: string[] = [];
  for (const q of queries) {
    await call(q.key, "search_documents", { query: q.query, limit: 20 });
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const t1 = Bun.nanoseconds();
      await call(q.key, "search_documents", { query: q.query, limit: 20 });
      times.push((Bun.nanoseconds() - t1) / 1e6);
    }
    times.sort((a, b) => a - b);
    const at = (p: number) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)]!;
    say(`${q.name}: p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms`);
    rows.push(`| ${q.name} | \`${q.query}\` | ${at(0.5).toFixed(2)} | ${at(0.99).toFixed(2)} |`);
  }

  const section = [
    "<!-- search-http-bench:begin (written by bun bench/search-http.ts) -->",
    "### Search through the compiled binary (HTTP, c=1)",
    "",
    `Generated by \`bun bench/search-http.ts --iterations ${iterations}\` on ${new Date().toISOString()} (wall time ${Math.round((performance.now() - started) / 1000)} s) with \`${version}\`:`,
    `search_documents (limit 20) as stateless 2026-07-28 \`tools/call\` over loopback HTTP, one at a time, ${iterations} calls per query, on the same`,
    `${manifest.documents.toLocaleString("en-US")}-document file (migrated by \`mcp-mt migrate\` in ${migrateS.toFixed(1)} s) and on a tenant holding the adversarial document.`,
    `Load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs at the end of the run (the machine is shared).`,
    "",
    "| query | text | p50 ms | p99 ms |",
    "|---|---|--:|--:|",
    ...rows,
    "<!-- search-http-bench:end -->",
  ].join("\n");
  console.log(section);
  if (!values["no-write"]) {
    const path = join(import.meta.dir, "RESULTS.md");
    const current = readFileSync(path, "utf8");
    const marked = /<!-- search-http-bench:begin[\s\S]*?<!-- search-http-bench:end -->/;
    await Bun.write(path, marked.test(current) ? current.replace(marked, section) : `${current.trimEnd()}\n\n${section}\n`);
    say("wrote bench/RESULTS.md");
  }
} finally {
  server.proc?.kill();
  await server.proc?.exited;
  rmSync(dir, { recursive: true, force: true });
}
