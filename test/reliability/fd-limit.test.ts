/**
 * A low descriptor limit (`ulimit -n 256`, hard and soft, so the server cannot raise it) with 1,000 tenants:
 * the server derives its open-file cap from the limit and says so in the log; 2,000 calls across random
 * tenants never get a 500: each one succeeds or is a retryable 503 with Retry-After.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

const tenantCount = 1_000;
const calls = 2_000;
const concurrency = 16;
let dir: string;
let server: ServerProcess;
let keys: string[];

beforeAll(async () => {
  const made = binaryInEmptyDir();
  dir = made.dir;
  const csv = ["id", ...Array.from({ length: tenantCount }, (_, i) => `t${String(i).padStart(4, "0")}`)].join("\n");
  writeFileSync(join(dir, "tenants.csv"), `${csv}\n`);
  const added = run(made.bin, ["tenant", "add", "--from", join(dir, "tenants.csv"), "--format", "json"], { cwd: dir });
  expect(added.code).toBe(0);
  keys = added.json().tenants.map((t: { api_key: string }) => t.api_key);
  expect(keys.length).toBe(tenantCount);
  // The limit is set by the shell that execs the server, as an operator's unit file or shell would.
  const limited = join(dir, "serve-limited.sh");
  writeFileSync(limited, `#!/bin/bash\nulimit -Hn 256 -Sn 256 || exit 99\nexec "$(dirname "$0")/mcp-mt" "$@"\n`);
  chmodSync(limited, 0o755);
  writeFileSync(join(dir, "mcp-mt.toml"), `[log]\nformat = "json"\n`);
  server = await startServe(limited, dir);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  cleanupTempDirs();
});

describe("descriptor limit 256 with 1,000 tenants", () => {
  test("the log states the open-file cap derived from the limit", async () => {
    for (let i = 0; i < 50 && !server.stderr().includes('"server started"'); i++) await Bun.sleep(50);
    const lines = server.stderr().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    const capped = lines.find((l) => l.msg === "open tenant files capped by the descriptor limit");
    expect(capped).toMatchObject({ fd_limit: 256, max_open_tenants: 256 });
    expect(capped.cap).toBeLessThan(256 / 3);
    expect(lines.find((l) => l.msg === "server started")).toMatchObject({ fd_limit: 256, max_open_tenants: capped.cap });
  });

  test("2,000 calls across random tenants: no 500; every failure a 503 with Retry-After", async () => {
    const outcomes: { status: number; retryAfter: string | null; toolError: string | null }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < calls) {
        const n = next++;
        const key = keys[Math.floor(Math.random() * keys.length)]!;
        const args = n % 2 ? { name: "create_document", arguments: { title: `doc ${n}`, content: `content ${n}` } } : { name: "list_documents", arguments: { limit: 5 } };
        const { body, headers } = modernRequest("tools/call", args, n);
        const response = await fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
        const json = (await response.json().catch(() => null)) as any;
        outcomes.push({ status: response.status, retryAfter: response.headers.get("retry-after"), toolError: json?.result?.isError ? String(json.result.content?.[0]?.text) : null });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    expect(outcomes.length).toBe(calls);
    const byStatus: Record<number, number> = {};
    for (const o of outcomes) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
    console.log("fd-limit outcomes by status:", byStatus, "tool errors:", outcomes.filter((o) => o.toolError).length);
    expect(outcomes.filter((o) => o.status >= 500 && o.status !== 503)).toEqual([]);
    expect(outcomes.filter((o) => o.status === 503 && !o.retryAfter)).toEqual([]);
    expect(outcomes.filter((o) => o.status !== 200 && o.status !== 503)).toEqual([]);
    // A tool error here could only be a failed open, and that must read as "retry", never "internal error".
    for (const o of outcomes.filter((o) => o.toolError)) expect(o.toolError).toMatch(/retry/i);
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
    // Nearly every call opens a file and closes another: slow on a loaded machine, so a generous limit.
  }, 300_000);
});
