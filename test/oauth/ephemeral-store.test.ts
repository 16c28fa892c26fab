/**
 * Sign-in state shared by instances: each "instance" below has its own store object (its own Redis connection);
 * with Redis they see one state, in memory each keeps its own (the single-instance default).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AppError } from "../../src/errors.ts";
import { RedisConnection } from "../../src/limits/redis-connection.ts";
import { AuthorizationCodes } from "../../src/oauth/codes.ts";
import { MemoryStore, RedisStore, type EphemeralStore } from "../../src/oauth/ephemeral-store.ts";
import { AccountLockout } from "../../src/oauth/lockout.ts";
import { Sessions } from "../../src/oauth/sessions.ts";
import { UsedTotpSteps } from "../../src/oauth/totp-steps.ts";
import { FakeTime } from "../helpers/fake-time.ts";
import { startRedis, type RedisServer } from "../helpers/redis.ts";

let redis: RedisServer;
const connections: RedisConnection[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of connections) c.close();
  await redis.stop();
});

/** Two instances' stores: two Redis connections (one prefix per test), or one memory store each. */
function twoInstances(kind: "redis" | "memory", prefix: string): [EphemeralStore, EphemeralStore] {
  if (kind === "memory") return [new MemoryStore(), new MemoryStore()];
  const make = () => {
    const connection = new RedisConnection({ url: redis.url, timeoutMs: 2000 });
    connections.push(connection);
    return new RedisStore(connection, `test:${prefix}:`);
  };
  return [make(), make()];
}

const request = { clientId: "c1", clientName: "App", clientHost: null, redirectUri: "http://127.0.0.1:9/cb", state: "s", codeChallenge: "x".repeat(43), resource: "http://127.0.0.1/mcp", scopes: ["documents:read" as const] };
const signer = { tenantId: "acme", subject: "member:m1", label: "a@example.com", maxScopes: ["documents:read" as const], admin: false };

describe("sign-in state across two instances", () => {
  test("Redis: a session started on instance 1 (pending request, CSRF token) continues on instance 2, through sign-in and sign-out", async () => {
    const [s1, s2] = twoInstances("redis", "sessions");
    const one = new Sessions(s1, 60_000);
    const two = new Sessions(s2, 60_000);
    const session = await one.create();
    const requestId = await one.addRequest(session, request);
    const seen = await two.get(session.id);
    expect(seen?.csrf).toBe(one.csrfToken(session));
    expect(two.csrfValid(seen, one.csrfToken(session))).toBe(true);
    expect(two.csrfValid(seen, "forged")).toBe(false);
    expect(two.request(seen!, requestId)).toMatchObject({ clientId: "c1", redirectUri: request.redirectUri });
    // Sign-in on instance 2: a new id; the old one is gone everywhere, the request moved over.
    const next = await two.signIn(seen!, signer);
    expect(next.id).not.toBe(session.id);
    expect(await one.get(session.id)).toBeNull();
    const onOne = await one.get(next.id);
    expect(onOne?.signer).toEqual(signer);
    expect(one.request(onOne!, requestId)?.clientName).toBe("App");
    await one.removeRequest(onOne!, requestId);
    expect(two.request((await two.get(next.id))!, requestId)).toBeNull();
    await two.end(next.id);
    expect(await one.get(next.id)).toBeNull();
  });

  test("memory (no Redis): each instance keeps its own sessions", async () => {
    const [s1, s2] = twoInstances("memory", "");
    const session = await new Sessions(s1, 60_000).create();
    expect(await new Sessions(s2, 60_000).get(session.id)).toBeNull();
    expect((await new Sessions(s1, 60_000).get(session.id))?.id).toBe(session.id);
  });

  test.each([
    ["an unknown id", "A".repeat(43)],
    ["a key-shaped cookie", "session:x"],
    ["an empty cookie", ""],
    ["a glob", "*"],
  ])("a cookie with %s finds no session", async (_, id) => {
    const [s1] = twoInstances("redis", "cookies");
    expect(await new Sessions(s1, 60_000).get(id)).toBeNull();
  });

  test.each(["redis", "memory"] as const)("%s: wrong passwords lock the account at the limit; with Redis, instances' failures add up", async (kind) => {
    const [s1, s2] = twoInstances(kind, "lockout");
    const one = new AccountLockout(s1, 5, 60_000);
    const two = new AccountLockout(s2, 5, 60_000);
    for (let i = 0; i < 3; i++) await one.failed("m1");
    for (let i = 0; i < 2; i++) await two.failed("m1");
    if (kind === "redis") {
      expect(await one.lockedFor("m1")).toBeGreaterThan(59_000);
      expect(await two.lockedFor("m1")).toBeGreaterThan(59_000);
    } else {
      // Per instance: 3 and 2 wrong passwords, neither reaches 5.
      expect(await one.lockedFor("m1")).toBe(0);
      expect(await two.lockedFor("m1")).toBe(0);
    }
    // Another account is untouched; a success clears the count.
    expect(await one.lockedFor("m2")).toBe(0);
    await one.failed("m3");
    await one.succeeded("m3");
    for (let i = 0; i < 4; i++) await one.failed("m3");
    expect(await one.lockedFor("m3")).toBe(0);
  });

  test("Redis: a code issued on instance 1 is redeemed once, on any instance; a reuse names the grant to revoke", async () => {
    const [s1, s2] = twoInstances("redis", "codes");
    const one = new AuthorizationCodes(s1, 60_000);
    const two = new AuthorizationCodes(s2, 60_000);
    const code = await one.issue({ ...request, tenantId: "acme", subject: "member:m1", scopes: ["documents:read"] });
    const [a, b] = await Promise.all([two.redeem(code), one.redeem(code)]);
    const winners = [a, b].filter((r) => r !== null && "grant" in r);
    expect(winners.length).toBe(1);
    const first = winners[0] as { grant: { tenantId: string }; bind(id: string): Promise<void> };
    expect(first.grant.tenantId).toBe("acme");
    await first.bind("grant-1");
    expect(await one.redeem(code)).toEqual({ reused: "grant-1" });
    expect(await two.redeem("A".repeat(43))).toBeNull();
  });

  test("Redis: a TOTP step is accepted once across instances, and never an older one", async () => {
    const [s1, s2] = twoInstances("redis", "totp");
    const one = new UsedTotpSteps(s1);
    const two = new UsedTotpSteps(s2);
    const claims = await Promise.all([one.claim("m1", 100), two.claim("m1", 100)]);
    expect(claims.filter(Boolean).length).toBe(1);
    expect(await two.claim("m1", 99)).toBe(false);
    expect(await two.claim("m1", 101)).toBe(true);
  });

  test("Redis down: sign-in state answers a clear 503, not a crash", async () => {
    const [s1] = twoInstances("redis", "down");
    const sessions = new Sessions(s1, 60_000);
    await sessions.create();
    await redis.stop();
    try {
      const error = await sessions.create().catch((e) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).status).toBe(503);
      expect((error as AppError).message).toBe("sign-in is unavailable: the shared session store (Redis) does not answer; retry shortly");
    } finally {
      await redis.start();
    }
  });

  test("memory: expiries run on the monotonic clock (a wall-clock step neither unlocks nor expires early)", async () => {
    const time = new FakeTime();
    const store = new MemoryStore(time.monotonic);
    const lockout = new AccountLockout(store, 2, 60_000);
    await lockout.failed("m1");
    await lockout.failed("m1");
    time.stepWall(3_600_000);
    expect(await lockout.lockedFor("m1")).toBe(60_000);
    time.advance(59_999);
    expect(await lockout.lockedFor("m1")).toBe(1);
    time.advance(1);
    expect(await lockout.lockedFor("m1")).toBe(0);
  });
});
