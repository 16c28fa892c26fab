/**
 * Where mcp-mt's time goes for one get_document tools/call: the same request run in-process (no socket, no load
 * generator) through progressively smaller slices of the real code, imported from src/ (not modified). Each
 * stage runs sequentially over N requests after a warm-up, in several passes (the last one is reported), so the
 * differences between stages give the cost of each layer.
 *
 *   NODE_ENV=production bun bench/stages.ts --dir <dir made by bench/run.ts --keep> [--n 5000] [--passes 3]
 *   NODE_ENV=production bun bench/stages.ts --docs 20000     (makes and seeds its own directory)
 *
 * src/ is being developed concurrently, so the full-pipeline stage builds the app the way src/http/server.ts does
 * at the time of writing and is skipped (with the reason) if that no longer works; the other stages use the
 * narrower, steadier pieces (buildServer, DocumentStore, the SDK, @libsql/client).
 */
import { createClient } from "@libsql/client";
import { createMcpHandler, McpServer, type AuthInfo } from "@modelcontextprotocol/server";
import { spawnSync } from "bun";
import Database from "libsql";
import { copyFileSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import * as z from "zod/v4";
import { Authenticator } from "../src/auth/authenticate.ts";
import { loadConfig } from "../src/config/load.ts";
import { createApp } from "../src/http/app.ts";
import { createLogger } from "../src/log.ts";
import { buildCatalogue, buildServer } from "../src/mcp/server.ts";
import { createServices } from "../src/services.ts";
import { TenantFiles } from "../src/store/libsql/tenant-files.ts";
import { DocumentStore } from "../src/store/tenant/documents.ts";
import type { TenantContext } from "../src/tenancy/context.ts";
import { seed } from "./seed.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    dir: { type: "string" },
    docs: { type: "string", default: "20000" },
    n: { type: "string", default: "5000" },
    passes: { type: "string", default: "3" },
    tenant: { type: "string" },
  },
});
const N = Number(values.n);

// ---------------------------------------------------------------- data directory and an API key
let dir = values.dir;
let tenantId = values.tenant ?? "bench";
if (!dir) {
  dir = mkdtempSync(join(tmpdir(), "mcp-mt-stages-"));
  copyFileSync(join(import.meta.dir, "..", "dist", "mcp-mt"), join(dir, "mcp-mt"));
  spawnSync(["chmod", "+x", join(dir, "mcp-mt")]);
  const added = spawnSync([join(dir, "mcp-mt"), "tenant", "add", tenantId, "--plan", "enterprise", "--json"], { cwd: dir });
  if (added.exitCode !== 0) throw new Error(`tenant add failed: ${added.stderr}`);
  await seed(join(dir, "data", "tenants", `${tenantId}.db`), { count: Number(values.docs) });
  console.error(`made ${dir}`);
} else if (!values.tenant && !existsSync(join(dir, "data", "tenants", "bench.db"))) {
  tenantId = "acme";
}
const made = spawnSync([join(dir, "mcp-mt"), "key", "create", tenantId, "--json"], { cwd: dir });
if (made.exitCode !== 0) throw new Error(`key create failed: ${made.stderr}`);
const key = (JSON.parse(made.stdout.toString()) as { api_key: string }).api_key;
const dbPath = join(dir, "data", "tenants", `${tenantId}.db`);
const probe = createClient({ url: pathToFileURL(dbPath).href });
const ids = (await probe.execute("SELECT id FROM documents ORDER BY random() LIMIT 1000")).rows.map((r) => r.id as string);
probe.close();

// ---------------------------------------------------------------- requests
const envelope = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };
const bodyFor = (i: number, tool = "get_document", args: Record<string, unknown> = { id: ids[i % ids.length]! }) => ({
  jsonrpc: "2.0",
  id: i,
  method: "tools/call",
  params: { name: tool, arguments: args, _meta: envelope },
});
const request = (i: number, tool = "get_document", args?: Record<string, unknown>) =>
  new Request("http://127.0.0.1:8787/mcp", {
    method: "POST",
    headers: {
      host: "127.0.0.1:8787",
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/call",
      "mcp-name": tool,
    },
    body: JSON.stringify(bodyFor(i, tool, args)),
  });
async function expectResult(res: Response): Promise<void> {
  const text = await res.text();
  if (res.status !== 200 || !text.includes('"result"') || text.includes('"isError":true')) throw new Error(`bad response ${res.status}: ${text.slice(0, 300)}`);
}

// ---------------------------------------------------------------- the real pieces
const loaded = loadConfig({ cwd: dir, env: {} });
// As bench/run.ts does: raise every numeric plan limit (not timeouts) so that admission never refuses a request.
for (const plan of Object.values(loaded.config.plans as Record<string, Record<string, unknown>>)) {
  for (const [k, v] of Object.entries(plan)) if (typeof v === "number" && !/timeout/.test(k) && v < 1e7) plan[k] = 1e7;
}
const runtime = await createServices(loaded);
const { config } = runtime;
// Lines are formatted as in production but not written, except errors (so a failing stage says why).
const sink = createLogger({ level: config.log.level, format: config.log.format, write: (line) => void (line.includes('"level":"error"') && process.stderr.write(line)) });
const catalogue = buildCatalogue(config);
const authenticator = new Authenticator({ keys: runtime.keys, tenants: runtime.tenants, clock: runtime.clock });
const auth = await authenticator.authenticate(key);
// The stages measure the request path up to the store, so the store is read here directly (inline).
const files = new TenantFiles({ dataDir: config.data.dir, maxOpen: 4, sqlite: { synchronous: config.tenancy.synchronous, busyTimeoutMs: config.tenancy.busy_timeout_ms } });
const tenantDb = await files.use(tenantId, async (db) => db);
const store = new DocumentStore(tenantDb);
const fixedDoc = (await store.get(ids[0]!))!;
const stubStore = { get: async () => fixedDoc } as unknown as DocumentStore;

/** The whole hono app, built as src/http/server.ts builds it (limits only if this src has them). */
async function fullApp(): Promise<{ fetch: (r: Request) => Response | Promise<Response> }> {
  const deps: Record<string, unknown> = { config, services: runtime, log: sink, readiness: { draining: false }, authenticator };
  const setupPath = "../src/limits/setup.ts";
  if (existsSync(join(import.meta.dir, setupPath))) {
    const { createLimits } = (await import(setupPath)) as { createLimits: (rt: typeof runtime, log: typeof sink) => unknown };
    deps.limits = createLimits(runtime, sink);
  }
  return createApp(deps as never);
}

/** A tenant context as src/http/mcp-route.ts builds one; fields added to TenantContext later get inert stubs. */
const ctxWith = (s: TenantContext["store"]) =>
  ({
    requestId: "r",
    tenant: auth.tenant,
    principal: auth.principal,
    store: s,
    signal: new AbortController().signal,
    log: sink,
    meter: () => undefined,
    plan: (config.plans as Record<string, unknown>)[auth.tenant.plan],
    usage: async () => ({}),
  }) as unknown as TenantContext;
const authInfo = (ctx: TenantContext): AuthInfo => ({ token: "t", clientId: "c", scopes: ctx.principal.scopes, extra: { tenant: ctx } });
const modern = createMcpHandler(
  (sdk) => {
    const ctx = (sdk.authInfo!.extra as { tenant: TenantContext }).tenant;
    return buildServer(catalogue, () => ctx, ctx.principal.scopes);
  },
  { legacy: "reject", responseMode: "json" },
);
const realCtx = ctxWith(store);
const stubCtx = ctxWith(stubStore);
const getTool = catalogue.tools.find((t) => t.name === "get_document")!;

const EchoIn = z.object({ message: z.string() });
const echoInline = createMcpHandler(() => {
  const s = new McpServer({ name: "echo", version: "1.0.0" });
  s.registerTool("echo", { description: "Echo a message", inputSchema: z.object({ message: z.string() }) }, async ({ message }) => ({ content: [{ type: "text", text: message }] }));
  return s;
});
const echoHoisted = createMcpHandler(() => {
  const s = new McpServer({ name: "echo", version: "1.0.0" });
  s.registerTool("echo", { description: "Echo a message", inputSchema: EchoIn }, async ({ message }) => ({ content: [{ type: "text", text: message }] }));
  return s;
});

const selectSql = `select "seq", "id", "title", "content", "tags", "version", "bytes", "created_at", "updated_at" from "documents" where "documents"."id" = ? limit ?`;
const native = new Database(dbPath, { readonly: true });
const prepared = native.prepare(selectSql);

type Stage = { name: string; what: string; run: (i: number) => Promise<unknown> | unknown };
let app: Awaited<ReturnType<typeof fullApp>> | undefined;
let appError: string | undefined;
try {
  app = await fullApp();
  await expectResult(await app.fetch(request(0)));
} catch (error) {
  appError = error instanceof Error ? error.message : String(error);
  app = undefined;
}
const stages: Stage[] = [
  ...(app ? [{ name: "A full app.fetch", what: "every middleware, auth (cache hit), route, SDK, tool, DB; access log built, not written", run: async (i: number) => expectResult(await app!.fetch(request(i))) }] : []),
  { name: "B SDK handler + tool + DB", what: "createMcpHandler(buildServer).fetch, parsedBody given, real DocumentStore", run: async (i) => expectResult(await modern.fetch(request(i), { parsedBody: bodyFor(i), authInfo: authInfo(realCtx) })) },
  { name: "C SDK handler + tool, no DB", what: "as B with a stub store returning a fixed document", run: async (i) => expectResult(await modern.fetch(request(i), { parsedBody: bodyFor(i), authInfo: authInfo(stubCtx) })) },
  { name: "D buildServer()", what: "one McpServer with every tool + the resource template", run: () => buildServer(catalogue, () => stubCtx, stubCtx.principal.scopes) },
  {
    name: "E zod -> JSON Schema, in + out",
    what: "get_document input + output ~standard.jsonSchema (the SDK converts both for each new McpServer)",
    run: () => [getTool.input["~standard"].jsonSchema.input({ target: "draft-2020-12" }), getTool.output["~standard"].jsonSchema.output({ target: "draft-2020-12" })],
  },
  { name: "F DocumentStore.get", what: "a statement prepared once per open tenant file -> row to document", run: (i) => store.get(ids[i % ids.length]!) },
  { name: "H libsql prepared .get", what: "same SQL on a statement prepared once (the engine's own cost)", run: (i) => prepared.get(ids[i % ids.length]!, 1) },
  { name: "I SDK echo, schema inline", what: "the baseline server's handler, in-process", run: async (i) => expectResult(await echoInline.fetch(request(i, "echo", { message: "hello" }))) },
  { name: "J SDK echo, schema hoisted", what: "the baseline server's handler, in-process", run: async (i) => expectResult(await echoHoisted.fetch(request(i, "echo", { message: "hello" }))) },
];

const results = new Map<string, number>();
async function time(stage: Stage): Promise<void> {
  for (let i = 0; i < Math.min(2000, N); i++) await stage.run(i);
  Bun.gc(true);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await stage.run(i);
  results.set(stage.name, ((performance.now() - t0) * 1000) / N);
}
console.error(`get_document, ${N} sequential in-process requests per stage; data ${dir}${appError ? `\nstage A skipped: ${appError}` : ""}`);
for (let pass = 1; pass <= Number(values.passes); pass++) {
  for (const stage of stages) await time(stage);
  console.error(`pass ${pass}: ${stages.map((s) => `${s.name.split(" ")[0]} ${results.get(s.name)!.toFixed(0)}`).join(", ")} µs`);
}

const us = (prefix: string) => [...results].find(([name]) => name.startsWith(`${prefix} `))?.[1] ?? NaN;
console.log("| stage | µs/request | what |\n|---|--:|---|");
for (const s of stages) console.log(`| ${s.name} | ${results.get(s.name)!.toFixed(1)} | ${s.what} |`);
console.log("\n| layer (by difference) | µs/request |\n|---|--:|");
for (const [name, v] of [
  ["HTTP middleware + route + admission (A - B)", us("A") - us("B")],
  ["DB read inside the SDK call (B - C)", us("B") - us("C")],
  ["  of which drizzle query building and row mapping (F - G)", us("F") - us("G")],
  ["  of which @libsql/client per-call overhead (G - H)", us("G") - us("H")],
  ["  of which SQLite itself (H)", us("H")],
  ["SDK dispatch + buildServer + schema work + tool (C)", us("C")],
  ["  of which buildServer (D)", us("D")],
  ["  of which zod -> JSON Schema (E)", us("E")],
  ["SDK echo baseline, schema inline (I)", us("I")],
] as const)
  console.log(`| ${name} | ${Number.isFinite(v) ? v.toFixed(1) : "n/a"} |`);
native.close();
await runtime.close();
process.exit(0);
