/** The data directory's server lock (flock) and a failed start: against the compiled binary. */
import { afterAll, describe, expect, test } from "bun:test";
import { binaryInEmptyDir, cleanEnv } from "../helpers/binary.ts";
import { startServe } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

/** Runs `serve` expecting it to give up by itself; a kill after 20 s means it hung (exit code null/143). */
async function failedServe(bin: string, cwd: string, args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([bin, "serve", ...args], { cwd, env: cleanEnv(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const guard = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const code = await proc.exited;
  clearTimeout(guard);
  return { code, signal: proc.signalCode, stderr: await new Response(proc.stderr).text() };
}

describe("serve: the server lock and a busy port", () => {
  test("a busy port: exits non-zero by itself with the reason, and leaves nothing that blocks a correct restart", async () => {
    const { dir, bin } = binaryInEmptyDir();
    const squatter = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("taken") });
    try {
      const failed = await failedServe(bin, dir, ["--port", String(squatter.port)]);
      expect(failed.signal).toBeNull();
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain(`Is port ${squatter.port} in use?`);
    } finally {
      await squatter.stop(true);
    }
    const server = await startServe(bin, dir);
    expect(await server.stop()).toBe(0);
  });

  test("kill -9: the kernel releases the lock, a new server starts at once on the same data directory", async () => {
    const { dir, bin } = binaryInEmptyDir();
    const first = await startServe(bin, dir);
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    const second = await startServe(bin, dir);
    expect((await fetch(`${second.origin}/healthz`)).status).toBe(200);
    expect(await second.stop()).toBe(0);
  });

  test("two servers on one data directory: the second is refused naming the first's pid, and the first keeps serving", async () => {
    const { dir, bin } = binaryInEmptyDir();
    const first = await startServe(bin, dir);
    try {
      const second = await failedServe(bin, dir, ["--port", "0"]);
      expect(second.signal).toBeNull();
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`another mcp-mt serve (pid ${first.proc.pid}) is using ${dir}/data`);
      expect(second.stderr).toContain("limits.redis_url");
      expect((await fetch(`${first.origin}/healthz`)).status).toBe(200);
    } finally {
      await first.stop();
    }
  });
});
