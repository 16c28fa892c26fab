/** A throwaway redis-server on a random loopback port (no persistence), for tests of shared limits and state. */
import type { Subprocess } from "bun";

export type RedisServer = { port: number; url: string; stop(): void; restart(): Promise<void> };

export async function startRedis(): Promise<RedisServer> {
  const binary = Bun.which("redis-server");
  if (!binary) throw new Error("redis-server is not installed (the test command installs it from the Debian packages)");
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let proc: Subprocess | undefined;
  const start = async () => {
    proc = Bun.spawn([binary, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdout: "ignore", stderr: "ignore" });
    for (let i = 0; i < 100; i++) {
      try {
        const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
        socket.end();
        return;
      } catch {
        await Bun.sleep(50);
      }
    }
    throw new Error("redis-server did not start");
  };
  await start();
  const stop = () => proc?.kill("SIGKILL");
  process.on("exit", stop);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    async restart() {
      stop();
      await proc?.exited;
      await start();
    },
  };
}
