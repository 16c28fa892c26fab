/**
 * Limiter micro-benchmark: decisions per second of the in-process sliding window and of the Redis script.
 * Usage: bun bench/limiter.ts [--redis-port 6390]   (starts its own redis-server on loopback when installed)
 */
import { InProcessRateLimiter } from "../src/limits/rate-limiter.ts";
import { RedisRateLimiter } from "../src/limits/redis-limiter.ts";
import { RedisConnection } from "../src/limits/redis-connection.ts";
import { createLogger } from "../src/log.ts";

export type LimiterResult = { name: string; decisions: number; seconds: number; perSecond: number; admittedShare: number };

function inProcess(tenants: number, limit: number, seconds: number): LimiterResult {
  const limiter = new InProcessRateLimiter();
  let decisions = 0;
  let admitted = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) {
      if (limiter.consumeNow(`t:${(decisions + i) % tenants}`, limit, 60_000, 1).admitted) admitted++;
    }
    decisions += 1000;
  }
  void limiter.close();
  return { name: `in-process, ${tenants} tenants, limit ${limit}/min`, decisions, seconds, perSecond: decisions / seconds, admittedShare: admitted / decisions };
}

async function redis(port: number, concurrency: number, seconds: number): Promise<LimiterResult> {
  const connection = new RedisConnection({ url: `redis://127.0.0.1:${port}`, timeoutMs: 1000 });
  const limiter = new RedisRateLimiter({ redis: connection, failureMode: "closed", log: createLogger({ level: "error", format: "json" }), prefix: `bench:${Date.now()}:` });
  let decisions = 0;
  let admitted = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (performance.now() < end) {
        const d = await limiter.consume(`t:${w % 100}`, 100_000, 60_000, 1);
        decisions++;
        if (d.admitted) admitted++;
      }
    }),
  );
  await limiter.close();
  connection.close();
  return { name: `Redis script, ${concurrency} concurrent callers`, decisions, seconds, perSecond: decisions / seconds, admittedShare: admitted / decisions };
}

export async function runLimiterBench(seconds = 3): Promise<LimiterResult[]> {
  const results = [inProcess(1, 100, seconds), inProcess(1_000, 10_000, seconds)];
  const redisServer = Bun.which("redis-server");
  if (redisServer) {
    const port = 26_000 + Math.floor(Math.random() * 1000);
    const proc = Bun.spawn([redisServer, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdout: "ignore", stderr: "ignore" });
    await Bun.sleep(300);
    try {
      results.push(await redis(port, 1, seconds), await redis(port, 32, seconds));
    } finally {
      proc.kill();
    }
  }
  return results;
}

if (import.meta.main) {
  for (const r of await runLimiterBench()) console.log(`${r.name}: ${Math.round(r.perSecond).toLocaleString("en")} decisions/s (${r.decisions} in ${r.seconds} s)`);
}
