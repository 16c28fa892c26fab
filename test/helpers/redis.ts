/** A throwaway redis-server on a random loopback port (no persistence), for tests of shared limits and state; a test may stop and start it again. */
import type { Subprocess } from "bun";

export type RedisServer = {
  port: number;
  url: string;
  /** Kills it (SIGKILL) and waits until it is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty). */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Deletes every key (what a Redis flush or a restart without persistence does). */
  flush(): Promise<void>;
};

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
  const kill = () => proc?.kill("SIGKILL");
  process.on("exit", kill);
  const stop = async () => {
    const running = proc;
    proc = undefined;
    running?.kill("SIGKILL");
    await running?.exited;
  };
  const url = `redis://127.0.0.1:${port}`;
  return {
    port,
    url,
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    async flush() {
      const client = new Bun.RedisClient(url);
      await client.send("FLUSHALL", []);
      client.close();
    },
  };
}
