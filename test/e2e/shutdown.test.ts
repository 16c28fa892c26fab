/** Health endpoints and graceful shutdown of the compiled binary. */
import { afterAll, describe, expect, test } from "bun:test";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

describe("health and shutdown", () => {
  test("serve prints URL, data dir and the first-tenant hint; /healthz and /readyz answer", async () => {
    const { dir, bin } = binaryInEmptyDir();
    const proc = Bun.spawn([bin, "serve", "--port", "0"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const reader = proc.stdout.getReader();
    let out = "";
    while (!out.includes("tenant add")) out += new TextDecoder().decode((await reader.read()).value);
    expect(out).toMatch(/mcp-mt listening on http:\/\/127\.0\.0\.1:\d+\/mcp/);
    expect(out).toContain(`data directory: ${dir}/data`);
    expect(out).toContain("mcp-mt tenant add <id>");
    const origin = new URL(/listening on (\S+)/.exec(out)![1]!).origin;
    expect(await (await fetch(`${origin}/healthz`)).json()).toMatchObject({ status: "ok" });
    const ready = await fetch(`${origin}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready" });
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(0);
  });

  test("SIGTERM during a burst: every request either completes or is refused with 503, nothing acknowledged is lost, exit 0", async () => {
    const { dir, bin } = binaryInEmptyDir();
    const key = run(bin, ["tenant", "add", "acme", "--json"], { cwd: dir }).json().api_key;
    run(bin, ["tenant", "set-limit", "acme", "--max-concurrency", "1000"], { cwd: dir });
    const server = await startServe(bin, dir);
    const send = (i: number) => {
      const { body, headers } = modernRequest("tools/call", { name: "create_document", arguments: { title: `doc ${i}`, content: "burst" } }, i);
      return fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) })
        .then(async (r) => ({ status: r.status, body: (await r.json()) as any }))
        .catch(() => ({ status: 0, body: null }));
    };
    const first = await Promise.all(Array.from({ length: 20 }, (_, i) => send(i)));
    expect(first.every((r) => r.status === 200)).toBe(true);
    const burst = Array.from({ length: 60 }, (_, i) => send(100 + i));
    const code = server.stop("SIGTERM");
    const results = await Promise.all(burst);
    expect(await code).toBe(0);
    for (const r of results) expect([200, 503, 0]).toContain(r.status);
    const acknowledged = 20 + results.filter((r) => r.status === 200 && r.body?.result?.structuredContent?.id).length;
    expect(server.stderr()).toContain('"msg":"stopped"');
    const stored = run(bin, ["tenant", "show", "acme", "--json"], { cwd: dir }).json().database.documents;
    // Everything acknowledged is stored; a request cut by the connection close (status 0) may or may not be.
    expect(stored).toBeGreaterThanOrEqual(acknowledged);
    expect(stored).toBeLessThanOrEqual(acknowledged + results.filter((r) => r.status === 0).length);
    // the key's last use, kept in memory and written in batches, was flushed on the way out
    const [used] = run(bin, ["key", "list", "acme", "--json"], { cwd: dir }).json().keys;
    expect(Date.now() - Date.parse(used.last_used_at)).toBeLessThan(60_000);
  });
});
