/**
 * A full disk under the data directory (a 4 MiB tmpfs this test mounts): writes fail with a tool error that
 * names the cause and nothing partial is kept; `tenant add` leaves no file behind and a retry works once
 * space returns; the control plane logs what it could not write and the server keeps serving; SIGTERM on
 * a full disk still exits within server.shutdown_timeout_ms, naming what it could not flush.
 * Needs root (mount); skipped otherwise.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

const isRoot = process.getuid?.() === 0;
let dir: string;
let bin: string;
let data: string;
let key: string;
let server: ServerProcess;
let mounted = false;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });
const filler = () => join(data, "filler");
const shutdownMs = 3_000;

type ToolResult = { status: number; isError: boolean; text: string; structured: any };
let nextId = 1;
async function call(name: string, args: Record<string, unknown>): Promise<ToolResult> {
  const { body, headers } = modernRequest("tools/call", { name, arguments: args }, nextId++);
  const response = await fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
  const json = (await response.json()) as any;
  const result = json.result ?? {};
  return { status: response.status, isError: Boolean(result.isError ?? json.error), text: json.error?.message ?? result.content?.[0]?.text ?? "", structured: result.structuredContent };
}

/** Distinct words so the full-text index grows with the documents. */
const body = (n: number) => Array.from({ length: 3_000 }, (_, i) => `w${n}x${i}`).join(" ");

/** Writes documents until one fails; returns the ids acknowledged and the failure. */
async function fillDisk(prefix: string): Promise<{ acknowledged: string[]; failure: ToolResult }> {
  const acknowledged: string[] = [];
  for (let n = 0; n < 2_000; n++) {
    const result = await call("create_document", { title: `${prefix}-${n}`, content: body(n) });
    if (result.isError) return { acknowledged, failure: result };
    acknowledged.push(result.structured.id);
  }
  throw new Error("the disk never filled");
}

async function listedIds(): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await call("list_documents", { limit: 100, ...(cursor ? { cursor } : {}) });
    expect(page.isError).toBe(false);
    ids.push(...page.structured.documents.map((d: { id: string }) => d.id));
    cursor = page.structured.next_cursor ?? undefined;
  } while (cursor);
  return ids.sort();
}

const logLines = () =>
  server
    .stderr()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, any>);

beforeAll(async () => {
  if (!isRoot) return;
  ({ dir, bin } = binaryInEmptyDir());
  data = join(dir, "data");
  mkdirSync(data);
  expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", data]).exitCode).toBe(0);
  mounted = true;
  writeFileSync(join(dir, "mcp-mt.toml"), `[server]\nshutdown_timeout_ms = ${shutdownMs}\n[metering]\nflush_interval_ms = 200\n[log]\nformat = "json"\n`);
  const added = mt("tenant", "add", "acme", "--plan", "pro", "--json");
  expect(added.code).toBe(0);
  key = added.json().api_key;
  // Space to give back later: the "operator frees disk space" step.
  writeFileSync(filler(), Buffer.alloc(1024 * 1024, 1));
  server = await startServe(bin, dir);
});

afterAll(async () => {
  if (server && server.proc.exitCode === null) await server.stop("SIGKILL");
  if (mounted) Bun.spawnSync(["umount", "-l", data]);
  cleanupTempDirs();
});

describe.if(isRoot)("disk full", () => {
  let acknowledged: string[] = [];

  test("a write on a full disk: a tool error naming the cause, logged as storage full, nothing partial", async () => {
    const filled = await fillDisk("doc");
    acknowledged = filled.acknowledged;
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(filled.failure.text).toContain("storage is full");
    expect(filled.failure.text).not.toContain("internal error");
    await Bun.sleep(100);
    const lines = logLines();
    expect(lines.some((l) => l.level === "error" && l.code === "storage_full" && l.tenant === "acme")).toBe(true);
    expect(lines.filter((l) => /internal error|cannot rollback/i.test(JSON.stringify(l)))).toEqual([]);
    // Exactly the acknowledged documents exist: the failed one left nothing behind.
    expect(await listedIds()).toEqual([...acknowledged].sort());
  });

  test("the control plane on a full disk: failed usage flushes are logged clearly; the server keeps serving", async () => {
    // Calls made now leave usage to flush; flushes run every 200 ms.
    for (let i = 0; i < 5; i++) await call("list_documents", { limit: 1 });
    await Bun.sleep(1_000);
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
    const failures = logLines().filter((l) => /usage flush failed/.test(l.msg ?? l.message ?? ""));
    for (const line of failures) expect(JSON.stringify(line)).toMatch(/full/i);
  });

  test("tenant add (one, and in bulk) while the disk is full: refused, naming the cause; no file left behind", () => {
    const one = mt("tenant", "add", "globex");
    expect(one.code).not.toBe(0);
    expect(one.stderr).toMatch(/full|space/i);
    writeFileSync(join(dir, "many.csv"), "id\nbulk-a\nbulk-b\nbulk-c\n");
    const many = mt("tenant", "add", "--from", join(dir, "many.csv"));
    expect(many.code).not.toBe(0);
    expect(many.stderr).toMatch(/full|space/i);
    const files = readdirSync(join(data, "tenants"));
    expect(files.filter((f) => !f.startsWith("acme.db"))).toEqual([]);
  });

  test("after space is freed: writes work again and tenant add just works", async () => {
    rmSync(filler());
    const result = await call("create_document", { title: "after", content: "space is back" });
    expect(result.isError).toBe(false);
    acknowledged.push(result.structured.id);
    expect(await listedIds()).toEqual([...acknowledged].sort());
    expect(mt("tenant", "add", "globex").code).toBe(0);
    expect(mt("tenant", "add", "--from", join(dir, "many.csv")).code).toBe(0);
    for (const id of ["globex", "bulk-a", "bulk-b", "bulk-c"]) expect(existsSync(join(data, "tenants", `${id}.db`))).toBe(true);
  });

  test("SIGTERM with the disk full again: exits within shutdown_timeout_ms, non-zero, naming what it could not flush", async () => {
    await fillDisk("again");
    // Usage of these calls is pending and cannot be written.
    for (let i = 0; i < 5; i++) await call("list_documents", { limit: 1 });
    const started = performance.now();
    const code = await Promise.race([server.stop("SIGTERM"), Bun.sleep(shutdownMs + 5_000).then(() => "still running")]);
    expect(code).not.toBe("still running");
    expect(performance.now() - started).toBeLessThan(shutdownMs + 2_000);
    // Usage could not be written: that is a loss, said by name, and the exit code says so too.
    expect(code).toBe(1);
    const lost = logLines().filter((l) => l.msg === "shutdown could not finish everything");
    expect(lost.length).toBe(1);
    expect(lost[0]!.lost).toContain("usage meter flush and refusal audit");
    expect(JSON.stringify(lost[0]!.details)).toMatch(/full/i);
  });
});
